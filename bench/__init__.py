"""Benchmarks of rlvr against its peers; each runs as `python -m bench.<name>` from the repository root and ends
with one JSON line with the keys `bench`, `ours`, `peer`, `ratio` and `unit` (plus its own)."""
