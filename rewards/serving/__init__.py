"""Serving our own models over standard APIs."""
