"""Arena: one prompt to many vision-language models and image generators, side by side."""

__version__ = "0.2.0"
