"""Shared machinery of model-backed graders: loading once per process, text rendering, dynamic batching."""
