"""Helpers for python/make_goldens.py (Keras oracle golden generator for rnnx)."""
