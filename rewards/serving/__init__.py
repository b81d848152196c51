"""`rlvr serve-model`: one model behind the APIs of servers that can stand in for it: OpenAI's chat and
completions (`openai_server`), TEI's /predict and vLLM's /pooling (`scoring`), their shapes in `protocol`."""
