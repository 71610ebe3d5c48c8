"""Garment.id platform backend."""

__version__ = "0.1.0"
