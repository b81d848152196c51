"""The trainer's commands: `rlvr train`, `sft`, `sample`, `train-rm`, `train-prm`, `leakage` and `rescore-run`
(also `python -m trainer`).

Every training command takes a YAML/JSON config and any number of `--set section.key=value` overrides, read by
the one loader (`trainer.config.load_config`). Each command imports its heavy modules (torch,
transformers) when it runs, so the CLI starts fast."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from rewards.cli import ChunkSize, FailOnChange, RescoreOut, SandboxUrls, Show, TimeoutS, Workers

app = typer.Typer(help="The RLVR trainer.", no_args_is_help=True, pretty_exceptions_enable=False)

Config = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML/JSON config.")]
Overrides = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: section.key=value.")]


@app.callback()
def main() -> None:
    """The RLVR trainer."""


@app.command()
def train(
    config: Config,
    set_: Overrides = None,
    resume: Annotated[bool, typer.Option(help="Continue from the latest checkpoint in output_dir.")] = False,
) -> None:
    """Train a policy with GRPO or PPO on rewards from the reward service."""
    from trainer.config import TrainConfig, load_config
    from trainer.train import train as run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"done: {run(load_config(TrainConfig, config, set_ or []), resume=resume)}")


@app.command()
def sft(config: Config, set_: Overrides = None) -> None:
    """Supervised fine-tuning on prompt/response rows, loss on the response only."""
    from trainer.config import SFTConfig, load_config
    from trainer.sft import sft as run

    print(f"saved: {run(load_config(SFTConfig, config, set_ or []))}")


@app.command()
def sample(config: Config, set_: Overrides = None) -> None:
    """Rejection sampling: keep the completions the graders verify, as an SFT dataset."""
    from trainer.config import SampleConfig, load_config
    from trainer.sample import rejection_sample

    print(json.dumps(rejection_sample(load_config(SampleConfig, config, set_ or []))))


@app.command("train-rm")
def train_rm(config: Config, set_: Overrides = None) -> None:
    """Train a Bradley-Terry reward model on (prompt, chosen, rejected) pairs; prints the last epoch's metrics."""
    from trainer.config import RewardModelConfig, load_config
    from trainer.reward_model import train_reward_model

    card = train_reward_model(load_config(RewardModelConfig, config, set_ or []))
    print(json.dumps(card["epochs"][-1]))


@app.command("train-prm")
def train_prm(config: Config, set_: Overrides = None) -> None:
    """Train a process reward model on step-labelled solutions; prints the last epoch's metrics."""
    from trainer.config import PRMConfig, load_config
    from trainer.prm import train_prm as run

    card = run(load_config(PRMConfig, config, set_ or []))
    print(json.dumps(card["epochs"][-1]))


@app.command()
def leakage(
    train: Annotated[list[Path], typer.Argument(exists=True, help="Train sets: JSONL, a saved dataset dir, or a "
                                                "trainer config (YAML: its data section).")],
    eval_: Annotated[list[Path], typer.Option("--eval", exists=True, help="An eval set (repeat for several).")],
    prompt_field: Annotated[str, typer.Option(help="Prompt field; 'question' and 'problem' are tried next.")] = "prompt",
    reference_field: Annotated[str, typer.Option(help="Reference field; 'answer' is tried next.")] = "reference",
    n: Annotated[int, typer.Option(min=1, help="Word n-gram size of the exact check.")] = 13,
    near_threshold: Annotated[float, typer.Option(min=0, max=1, help="MinHash Jaccard threshold.")] = 0.5,
    shingle: Annotated[int, typer.Option(min=1, help="Words per MinHash shingle.")] = 2,
    no_near: Annotated[bool, typer.Option(help="Skip the MinHash near-duplicate check.")] = False,
    embed_url: Annotated[str | None, typer.Option(help="An embedding server (OpenAI's /v1/embeddings, e.g. `rlvr "
                                                  "serve-model MODEL --head embed`): adds the paraphrase check.")] = None,
    embed_model: Annotated[str | None, typer.Option(help="The model the embedding server serves (default: the "
                                                    "first it lists).")] = None,
    paraphrase_threshold: Annotated[float, typer.Option(min=-1, max=1, help="Cosine similarity of prompt "
                                                        "embeddings that counts as a paraphrase.")] = 0.8,
    embed_batch: Annotated[int, typer.Option(min=1, help="Prompts per embedding request.")] = 256,
    write_clean: Annotated[Path | None, typer.Option(help="Write the uncontaminated train rows here (JSONL).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the full report here (JSON).")] = None,
    max_rate: Annotated[float, typer.Option(min=0, max=1, help="Highest share of contaminated eval items.")] = 0.0,
    allow: Annotated[bool, typer.Option(help="Exit 0 even above --max-rate.")] = False,
) -> None:
    """Find eval items in the train sets (exact n-grams, MinHash near-duplicates, paraphrases by embedding) and
    prompts holding their answer."""
    from trainer.leakage import LeakageOptions, check_leakage, items_of

    options = LeakageOptions(n=n, near_threshold=None if no_near else near_threshold, shingle=shingle,
                             prompt_field=prompt_field, reference_field=reference_field, embed_url=embed_url,
                             embed_model=embed_model, paraphrase_threshold=paraphrase_threshold,
                             embed_batch=embed_batch)
    with write_clean.open("w") if write_clean else contextlib.nullcontext() as clean_out:
        found = check_leakage(items_of(train, options), items_of(eval_, options), options, clean_out)
    if report:
        report.write_text(json.dumps(found.to_json(), indent=1))
    print(found.summary())
    if found.rate > max_rate and not allow:
        print(f"error: {found.rate:.2%} of eval items are contaminated, above --max-rate {max_rate:.2%}")
        raise typer.Exit(1)


@app.command("rescore-run")
def rescore_run(
    config: Config,
    set_: Overrides = None,
    samples: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Rollouts to re-grade "
                                                 "[default: the run's output_dir/samples.jsonl].")] = None,
    eval_graders: Annotated[bool, typer.Option("--eval-graders", help="Grade with the config's eval.graders (a "
                                               "stricter verifier, a held-out judge) instead of its reward's: "
                                               "what they say of the rollouts the reward paid for.")] = False,
    service_config: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="The reward service's "
                                                        "YAML config, where the run names configured graders.")] = None,
    out: RescoreOut = None,
    workers: Workers = None,
    timeout_s: TimeoutS = None,
    sandbox_url: SandboxUrls = None,
    chunk_size: ChunkSize = 256,
    show: Show = 50,
    fail_on_change: FailOnChange = False,
) -> None:
    """Re-score a training run's stored rollouts with the weighted graders its config names, and report what
    changed (`rlvr rescore` with the run's reward, summed as the trainer sums it)."""
    from rewards.cli import run_rescore
    from rewards.service import RewardService
    from rewards.settings import load_settings
    from rewards.types import Sample, Score
    from trainer.config import TrainConfig, load_config
    from trainer.scoring import score_weighted

    try:
        cfg = load_config(TrainConfig, config, set_ or [])
        settings = load_settings(service_config, workers=workers or cfg.reward.workers, timeout_s=timeout_s,
                                 sandbox_urls=sandbox_url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    reward = cfg.reward
    if eval_graders and cfg.eval.graders is not None:
        reward = reward.model_copy(update={"graders": cfg.eval.graders})
    path = samples or Path(cfg.output_dir) / "samples.jsonl"
    if not path.is_file():
        raise typer.BadParameter(f"{path} does not exist: the run logs samples every log_samples_every steps "
                                 f"({cfg.log_samples_every}); pass --samples", param_hint="--samples")
    service = RewardService(settings)

    async def grade(batch: list[Sample]) -> list[Score]:
        rewards = await score_weighted(service, reward, batch)
        return [rewards.score(i) for i in range(len(batch))]

    run_rescore(service, [w.grader for w in reward.graders], grade, path, out=out, chunk_size=chunk_size,
                show=show, fail_on_change=fail_on_change)
