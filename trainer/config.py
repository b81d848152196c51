"""Every trainer command's configuration, and the one loader: YAML (or JSON) plus `--set section.key=value`.

Each command has its own config, named after it: `train` -> `TrainConfig` (GRPO/PPO), `sft` ->
`SFTConfig`, `sample` -> `SampleConfig`, `train-rm` -> `RewardModelConfig`, `train-prm` -> `PRMConfig`.
The two learned-reward configs share `LearnedRewardConfig`; every config that fine-tunes with
adapters uses the same `LoraConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trainer.reporters import ReportTo, check_installed


class Section(BaseModel):
    """A config block: unknown keys are errors, so a typo in YAML or `--set` never goes unnoticed."""

    model_config = ConfigDict(extra="forbid")


class LoraConfig(Section):
    """LoRA adapters (peft): only they train; a policy's reference is the base with them disabled."""

    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"


class ModelConfig(Section):
    """The policy: where it is, how prompts are wrapped (plain or chat template), LoRA, dtype."""

    path: str = Field(description="Local directory or hub name of the policy.")
    template: Literal["plain", "chat"] = "plain"
    system: str | None = None
    lora: LoraConfig | None = None
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    freeze: list[Literal["embeddings"]] = Field(default_factory=list, description="Parts that never train: "
                                                "`embeddings` (the input embeddings; a tied output head with them).")
    freeze_layers: int = Field(default=0, ge=0, description="Freeze the first N transformer blocks; with LoRA "
                               "they get no adapters.")


class DataConfig(Section):
    """Where prompts come from: exactly one of a procedural `task`, a `jsonl` file or a `datasets` `dataset`."""

    task: Literal["arithmetic", "linear", "word"] | None = None
    task_args: dict[str, Any] = Field(default_factory=dict)
    size: int = 5000
    jsonl: str | None = None
    dataset: str | None = None
    split: str = "train"
    prompt_field: str = "prompt"
    reference_field: str = "reference"
    response_field: str = "response"
    eval_sets: list[str] = Field(default_factory=list, description="Eval sets (JSONL files or saved datasets) "
                                 "checked for leakage into this data before training (trainer.leakage).")
    leakage_max_rate: float = Field(default=0.0, ge=0, le=1, description="Share of eval items found in the data "
                                    "above which training refuses to start.")
    leakage_allow: bool = False  # train anyway, the check's report logged


class RolloutConfig(Section):
    """Sampling: prompts per step, G completions per prompt, temperature, top-p, length, stop strings."""

    prompts_per_step: int = 16
    group_size: int = 8
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_new_tokens: int = 64
    stop: list[str] = Field(default_factory=list)
    backend: Literal["transformers", "server"] = Field(default="transformers", description="transformers: "
                                                       "`generate` on the policy; server: an inference server "
                                                       "(vLLM, SGLang, rlvr serve-model) at `server_urls`.")
    server_urls: list[str] = Field(default_factory=list, description="Inference servers (backend: server), "
                                   "load-balanced by requests in flight; each gets every weight sync.")
    server_model: str | None = Field(default=None, description="The name the servers serve the base policy as; "
                                     "default: model.path.")
    server_api: Literal["vllm", "sglang"] = Field(default="vllm", description="The servers' API (backend: "
                                                  "server): vllm: /v1/completions and /v1/*_lora_adapter (vLLM, "
                                                  "serve-model); sglang: SGLang's native /generate and "
                                                  "/*_lora_adapter (SGLang, serve-model).")
    server_timeout_s: float = Field(default=600.0, gt=0, description="One completion request's time limit.")
    server_retry_budget_s: float = Field(default=60.0, ge=0, description="How long a failed request is retried.")
    sync_dir: str | None = Field(default=None, description="Where each update's adapter (or full weights) is "
                                 "saved for the servers to load: a path they can read; default output_dir/sync.")
    seed_requests: bool = Field(default=True, description="backend: server: each request carries a `seed` "
                                "(vLLM's; serve-model's too) derived from the run's seed, the generate call and "
                                "the prompt's position, so the samples do not depend on the server's batching.")
    tis_cap: float | None = Field(default=2.0, gt=0, description="Truncated importance sampling (backend: "
                                  "server): each token's loss is weighted by min(pi_trainer / pi_server, "
                                  "tis_cap); null: no correction.")

    @model_validator(mode="after")
    def _servers_named(self) -> RolloutConfig:
        if self.backend == "server" and not self.server_urls:
            raise ValueError("rollout.backend: server needs rollout.server_urls")
        return self


class WeightedGrader(Section):
    """One grader (a configured name or a spec) and its weight in the summed reward."""

    grader: str | dict[str, Any]
    weight: float = 1.0


class RewardConfig(Section):
    """The reward service(s) and the graders whose weighted sum is the reward."""

    urls: list[str] = Field(default_factory=list, description="Reward services; empty: grade in-process.")
    api_key: str | None = None
    graders: list[WeightedGrader] = Field(default_factory=lambda: [WeightedGrader(grader="math")])
    timeout_s: float = 60.0
    retry_budget_s: float = Field(default=60.0, ge=0, description="How long a request is retried (with backoff) "
                                  "before its batch is dropped: a service restart within it costs no step.")
    retries: int | None = Field(default=None, ge=0, description="Optional cap on the attempts, too.")
    workers: int | None = None  # in-process worker pool size
    success_threshold: float = 1.0  # a sample counts as correct (accuracy) at or above this reward


class GRPOConfig(Section):
    """GRPO's settings: reward scaling, the ratio's clip range, loss aggregation, KL to the reference."""

    scale_rewards: Literal["group", "batch", "none"] = "group"
    epsilon_low: float = 0.2
    epsilon_high: float = 0.2
    loss_type: Literal["grpo", "dr_grpo", "dapo"] = "dapo"
    beta: float = 0.0
    kl_estimator: Literal["k1", "k3"] = "k3"
    mask_truncated: bool = True


class PPOConfig(Section):
    """PPO's own settings: the policy's clip range, GAE, the value loss, and the KL folded into rewards."""

    epsilon_low: float = 0.2  # the ratio is clipped to [1 - epsilon_low, 1 + epsilon_high]
    epsilon_high: float = 0.2
    mask_truncated: bool = True
    gamma: float = 1.0
    lam: float = 0.95
    vf_coef: float = 0.5
    cliprange_value: float = 0.2
    kl_coef: float = 0.05
    kl_estimator: Literal["k1", "k3"] = "k1"


class OptimConfig(Section):
    """AdamW, warmup + cosine schedule, gradient clipping, micro-batching."""

    lr: float = 1e-5
    value_lr: float | None = None  # PPO value head; default: lr
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    micro_batch: int = 64  # sequences per forward/backward; the rest is gradient accumulation
    updates_per_batch: int = 1  # optimisation passes over each rollout batch (mu)
    share_prompt: bool = Field(default=True, description="GRPO: run each group's prompt once and reuse its keys and "
                               "values for the G completions (same log-probs, less work; needs micro_batch a "
                               "multiple of group_size, else every row runs its prompt).")


class MonitorConfig(Section):
    """Reward-hacking monitors (trainer.monitors): a sliding window of steps; a threshold of null turns one off."""

    enabled: bool = True
    window: int = Field(default=20, ge=4, description="Steps each monitor looks back over.")
    min_samples: int = Field(default=64, ge=2, description="Samples the length correlation needs before it speaks.")
    length_correlation: float | None = Field(default=0.5, gt=0, le=1, description="Within-group correlation of "
                                             "reward with response length above which verbosity is suspected.")
    format_share: float | None = Field(default=0.5, gt=0, le=1, description="Share of the reward from format "
                                       "components above which a format rise with flat accuracy warns.")
    format_components: list[str] = Field(default_factory=lambda: ["format"], description="Component labels "
                                         "(or grader types) counted as format; `format` graders always are.")
    dominance: float | None = Field(default=0.9, gt=0, le=1, description="One component's share of the reward.")
    rise: float = Field(default=0.1, gt=0, description="A rise of mean reward (second half of the window over the "
                        "first, or between evals) that counts as rising.")
    flat: float = Field(default=0.02, ge=0, description="A rise of accuracy below this is flat.")
    spam_rate: float | None = Field(default=0.1, ge=0, le=1, description="Share of samples with several answers.")
    injection_rate: float | None = Field(default=0.01, ge=0, le=1, description="Share blocked as judge injection.")
    harness_rate: float | None = Field(default=0.01, ge=0, le=1, description="Share refused by the sandbox's guard.")
    timeout_rate: float | None = Field(default=0.05, ge=0, le=1, description="Share a grader timed out on.")


class EvalConfig(Section):
    """Held-out evaluation during RL (trainer.evaluate): its own problems and, ideally, its own graders."""

    every: int = Field(default=0, ge=0, description="Evaluate every this many steps and at the end; 0: never.")
    data: DataConfig | None = Field(default=None, description="The held-out problems; default: the training "
                                    "task drawn with `seed` (a JSONL or dataset training source needs one).")
    seed: int = Field(default=1_000_003, description="Seed of the default held-out task draw.")
    size: int = Field(default=200, ge=1, description="Held-out problems evaluated (the first of the source).")
    samples: int = Field(default=0, ge=0, description="Sampled completions per problem besides the greedy one; "
                         "0: greedy only.")
    graders: list[WeightedGrader] | None = Field(default=None, description="The graders that judge the eval "
                                                 "(e.g. a stricter verifier or a held-out judge); default: "
                                                 "the reward's.")


class TrainConfig(Section):
    """`rlvr train`: RL of a policy (GRPO or PPO) on rewards from the reward service."""

    algorithm: Literal["grpo", "ppo"] = "grpo"
    model: ModelConfig
    data: DataConfig = Field(default_factory=DataConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    grpo: GRPOConfig = Field(default_factory=GRPOConfig)
    ppo: PPOConfig = Field(default_factory=PPOConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    monitors: MonitorConfig = Field(default_factory=MonitorConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    steps: int = 100
    max_off_policy_steps: int = Field(default=1, ge=0, description="Scoring of batch k overlaps generation of k+1.")
    seed: int = 0
    output_dir: str = "runs/rlvr"
    save_every: int = 0
    stop_after: int | None = Field(default=None, description="End this run (with a checkpoint) after this many "
                                   "steps; the schedule still spans `steps`. For time-sliced jobs.")
    log_samples_every: int = 10
    plots: bool = True
    report_to: list[ReportTo] = Field(default_factory=list, description="Also log the step metrics to these "
                                      "(trainer.reporters; offline, under output_dir, by default).")
    torch_threads: int | None = None

    @field_validator("report_to")
    @classmethod
    def _installed(cls, names: list[ReportTo]) -> list[ReportTo]:
        return check_installed(names)  # a missing library fails when the config loads, not mid-run


class SFTConfig(Section):
    """`rlvr sft`: supervised fine-tuning on prompt/response rows."""

    model: ModelConfig
    data: DataConfig = Field(default_factory=DataConfig)
    optim: OptimConfig = Field(default_factory=lambda: OptimConfig(lr=1e-3))
    epochs: float = 1.0
    batch_size: int = 32
    max_length: int = 512
    seed: int = 0
    output_dir: str = "runs/sft"
    torch_threads: int | None = None


class SampleConfig(Section):
    """`rlvr sample`: rejection sampling into an SFT dataset."""

    model: ModelConfig
    data: DataConfig = Field(default_factory=DataConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    output: str = "runs/sampled.jsonl"
    seed: int = 0


class LearnedRewardConfig(Section):
    """What both learned-reward trainings take (`train-rm`, `train-prm`): a base model, data, a plain loop."""

    model: str = Field(description="Local path or hub name of the base model.")
    output_dir: str
    data: str = Field(description="A JSONL file, or a `datasets` dataset name.")
    split: str = "train"
    eval_data: str | None = Field(default=None, description="Held-out data; else `eval_fraction` of `data`.")
    eval_fraction: float = Field(default=0.1, gt=0, lt=1)
    epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=8, ge=1)
    lr: float = Field(default=5e-5, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1, description="Share of steps with rising lr, then linear decay.")
    max_length: int = Field(default=1024, gt=0)
    lora: LoraConfig | None = None
    seed: int = 0
    threads: int | None = Field(default=None, ge=1, description="torch CPU threads.")
    progress: bool = True


class RewardModelConfig(LearnedRewardConfig):
    """`rlvr train-rm`: a Bradley-Terry reward model on (prompt, chosen, rejected) pairs."""

    margin: float = Field(default=0.0, description="Required gap r_chosen - r_rejected; a `margin` column wins.")
    center_coef: float = Field(default=0.0, ge=0, description="Weight of the reward-centering term.")


class PRMConfig(LearnedRewardConfig):
    """`rlvr train-prm`: a process reward model on step-labelled solutions."""

    layout: Literal["token", "causal"] = "token"
    tag: str = Field(default="<extra_0>", description="The tag after each step (one token at its end).")
    positive_token: str = "+"
    negative_token: str = "-"


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Set `a.b.c=value` in nested `data`; the value is parsed as YAML (numbers, lists, null...)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {assignment!r}")
    *parents, leaf = key.strip().split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"--set {key}: {part} is not a section")
    node[leaf] = yaml.safe_load(raw)


def load_config(kind: type[ConfigT], path: str | Path | None, overrides: Sequence[str] = ()) -> ConfigT:
    """The one loader of every command: read YAML or JSON (or start empty), apply `--set` overrides, validate."""
    data = (yaml.safe_load(Path(path).read_text()) if path else None) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    for assignment in overrides:
        apply_override(data, assignment)
    return kind.model_validate(data)
