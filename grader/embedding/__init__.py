"""Sentence embeddings: the bundled model and the encoders that use it."""
