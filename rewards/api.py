"""HTTP routes: validate, resolve the grader, hand the work to the service, shape the answer."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from rewards.errors import ForbiddenResource, GraderBuildError, InvalidGrader, UnknownGrader
from rewards.graders import GRADERS, Grader, SpecBase
from rewards.service import RewardService
from rewards.types import Sample, Score
from sandbox.httpkit import error_responses, unprocessable, validation_errors
from sandbox.models import clean

router = APIRouter()
SCORING_ERRORS = error_responses(401, 403, 413, 503)

GraderField = Field(description="A grader spec ({'type': ...}) or the name of a configured grader.")
_clean = field_validator("grader")(clean)  # lone surrogates replaced; nested too deep is a 422


class ScoreRequest(Sample):
    grader: str | dict[str, Any] = GraderField
    _grader = _clean


class ScoreResult(Score):
    elapsed_ms: float = 0.0


class BatchRequest(BaseModel):
    grader: str | dict[str, Any] = GraderField
    _grader = _clean
    items: list[Sample] = Field(min_length=1)


class BatchResponse(BaseModel):
    results: list[ScoreResult]


class GetRewardRequest(BaseModel):
    """OpenRLHF's remote reward model request: full texts, their prompts, and the labels."""

    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None

    _labels = field_validator("labels")(clean)


class GetRewardResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


def _service(request: Request) -> RewardService:
    service: RewardService = request.app.state.service
    return service


def _label(service: RewardService, grader: str | dict[str, Any]) -> str:
    if isinstance(grader, str):
        return grader
    kind = grader.get("type")
    return kind if kind in GRADERS else "invalid"


def _spec(service: RewardService, grader: str | dict[str, Any]) -> SpecBase:
    """The spec of a request's `grader` field, or the 4xx that says what is wrong with it."""
    try:
        return service.resolve(grader, from_request=True)
    except UnknownGrader as exc:
        raise unprocessable(str(exc), ("body", "grader")) from exc
    except InvalidGrader as exc:
        errors = validation_errors(exc.errors, ("body", "grader"))
        raise HTTPException(422, [{**e, "msg": f"invalid grader spec: {e['msg']}"} for e in errors]) from exc
    except ForbiddenResource as exc:
        raise HTTPException(403, str(exc)) from exc


async def _grader(service: RewardService, grader: str | dict[str, Any]) -> Grader[Any]:
    """The built grader for a request's `grader` field, or the 4xx that says what is wrong with it."""
    spec = _spec(service, grader)
    try:
        return await service.grader_for(spec)
    except GraderBuildError as exc:
        raise unprocessable(str(exc), ("body", "grader")) from exc


async def _score(request: Request, grader: str | dict[str, Any], samples: list[Sample]) -> list[ScoreResult]:
    service = _service(request)
    settings = service.settings
    if len(samples) > settings.max_batch_items:
        raise HTTPException(413, f"{len(samples)} items; at most {settings.max_batch_items} per request")
    if service.pool.waiting + len(samples) > settings.max_pending:
        raise HTTPException(503, "grading queue is full; retry later", headers={"Retry-After": "1"})
    built = await _grader(service, grader)
    start = time.perf_counter()
    scores = await service.score_batch(built.spec, samples)
    elapsed_ms = (time.perf_counter() - start) * 1000
    request.app.state.metrics.observe_scores(_label(service, grader), scores)
    return [ScoreResult(**s.model_dump(), elapsed_ms=elapsed_ms) for s in scores]


@router.post("/v1/score", response_model=ScoreResult, responses=SCORING_ERRORS)
async def score(body: ScoreRequest, request: Request) -> ScoreResult:
    """Score one completion."""
    sample = Sample(prompt=body.prompt, completion=body.completion, reference=body.reference, metadata=body.metadata)
    return (await _score(request, body.grader, [sample]))[0]


@router.post("/v1/score/batch", response_model=BatchResponse, responses=SCORING_ERRORS)
async def score_batch(body: BatchRequest, request: Request) -> BatchResponse:
    """Score many completions with one grader; results come back in the order of `items`."""
    return BatchResponse(results=await _score(request, body.grader, body.items))


@router.post("/get_reward", response_model=GetRewardResponse, responses=SCORING_ERRORS)
async def get_reward(body: GetRewardRequest, request: Request) -> GetRewardResponse:
    """OpenRLHF's remote reward API: the completion is each query minus its prompt prefix."""
    n = len(body.query)
    for name, values in (("prompts", body.prompts), ("labels", body.labels)):
        if values is not None and len(values) != n:
            raise unprocessable(f"'{name}' has {len(values)} entries but 'query' has {n}", ("body", name))
    prompts = body.prompts or [""] * n
    labels = body.labels if body.labels is not None else [None] * n
    samples = []
    for query, prompt, label in zip(body.query, prompts, labels, strict=True):
        completion = query[len(prompt):] if prompt and query.startswith(prompt) else query
        samples.append(Sample(prompt=prompt, completion=completion, reference=label))
    results = await _score(request, _service(request).settings.get_reward_grader, samples)
    if failed := [i for i, r in enumerate(results) if r.error is not None]:
        raise HTTPException(503, f"grading failed for items {failed[:10]}: {results[failed[0]].error}",
                            headers={"Retry-After": "1"})
    rewards = [r.reward for r in results]
    return GetRewardResponse(rewards=rewards, scores=rewards, extra_logs={"rlvr_reward": rewards})


class CompareRequest(BaseModel):
    grader: str | dict[str, Any] = GraderField
    _grader = _clean
    prompt: str = ""
    a: str
    b: str


class CompareResponse(BaseModel):
    probability: float = Field(description="P(a preferred over b) = sigmoid(reward_a - reward_b).")
    reward_a: float
    reward_b: float


@router.post("/v1/compare", response_model=CompareResponse, responses=SCORING_ERRORS)
async def compare(body: CompareRequest, request: Request) -> CompareResponse:
    """Which of two completions a reward model prefers (Bradley-Terry probability)."""
    from rewards.graders.reward_model import RewardModelGrader

    grader = await _grader(_service(request), body.grader)
    if not isinstance(grader, RewardModelGrader):
        raise unprocessable("compare needs a reward_model grader", ("body", "grader"))
    try:
        return CompareResponse(**await grader.compare(body.prompt, body.a, body.b))
    except Exception as exc:  # noqa: BLE001 - the model could not load or run: machinery, not the request
        raise HTTPException(503, f"reward model failed: {exc}"[:500], headers={"Retry-After": "1"}) from exc


@router.get("/v1/graders", responses=error_responses(401))
async def graders(request: Request) -> dict[str, Any]:
    """Grader types with their JSON schemas, and the configured named graders."""
    service = _service(request)
    return {
        "types": {kind: cls.spec_type.model_json_schema() for kind, cls in GRADERS.items()},
        "named": {name: spec.model_dump(mode="json") for name, spec in service.named.items()},
    }


class ValidateRequest(BaseModel):
    """OpenAI's validate shape: the grader to check."""

    grader: str | dict[str, Any] = GraderField
    _grader = _clean


class ValidateResponse(BaseModel):
    grader: dict[str, Any] = Field(description="The spec as the service reads it, every default filled in.")


@router.post("/v1/graders/validate", response_model=ValidateResponse, responses=error_responses(401, 403))
async def validate_grader(body: ValidateRequest, request: Request) -> ValidateResponse:
    """Check a grader spec without building or running it (as OpenAI's graders/validate does): 422 saying
    what is wrong, 403 for a model, URL or file a request may not use, else the normalised spec."""
    spec = _spec(_service(request), body.grader)
    return ValidateResponse(grader=spec.model_dump(mode="json", by_alias=True))


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    """The grading pool as it is: live workers against its size, restarts, timeouts, errors, the queue."""
    return _service(request).pool.health()


@router.get("/metrics", response_class=PlainTextResponse, responses=error_responses(401))
async def metrics(request: Request) -> Response:
    """Prometheus metrics (text format)."""
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")
