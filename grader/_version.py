"""The package version (a leaf module: the signature and the command line read it without importing the package facade)."""

__version__ = "0.1.0"
