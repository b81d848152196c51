"""LLM-as-judge: prompts, backends and parsers of judge verdicts."""
