"""The bundled RLVR trainer: rollouts scored by the reward service, GRPO and PPO updates, SFT and sampling."""
