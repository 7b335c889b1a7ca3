"""Language on strings: normalisation, the lexicon, language forms, segmentation, negation scope, and the
two matchers rubric terms compile into (fuzzy keywords, word patterns). No model, no numpy."""
