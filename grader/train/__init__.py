"""Training code: what builds the package's learned data files from installed sources (nothing is downloaded)."""
