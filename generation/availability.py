"""Whether each configured Bedrock model (clip backends, script writers) can be reached now,
for the admin and the form.

A check is one control-plane ``GetFoundationModel`` call with the worker's credentials; it
reports the model's lifecycle (``ACTIVE`` or ``LEGACY``, with end-of-life dates where AWS gives
them). Results are cached (``MODEL_STATUS_TTL_SECONDS``) so pages never wait on AWS more than
once per period, and a job that meets an access error marks its model unavailable at once.
Source: Amazon Bedrock API reference, GetFoundationModel / FoundationModelLifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from . import aws


class BedrockModel(Protocol):
    """A model this site calls on Bedrock: a clip backend, or a script writer's model
    (``generation.writers.writer_models``). ``model_id`` is the foundation model's id."""

    @property
    def name(self) -> str: ...

    @property
    def model_id(self) -> str: ...

    @property
    def region(self) -> str: ...


@dataclass(frozen=True)
class ModelStatus:
    """One model's reachability. ``lifecycle`` is AWS's status ("ACTIVE", "LEGACY") or "";
    ``end_of_life`` is when AWS retires it, if known; ``detail`` explains an unreachable one."""

    backend: str
    model_id: str
    region: str
    reachable: bool
    lifecycle: str = ""
    end_of_life: datetime | None = None
    detail: str = ""
    checked_at: datetime = field(default_factory=timezone.now)


def _cache_key(backend: BedrockModel) -> str:
    return f"model-status:{backend.name}:{backend.model_id}:{backend.region}"


def check_model(backend: BedrockModel) -> ModelStatus:
    """Ask Bedrock about ``backend``'s model now (no cache). Never raises for AWS errors."""
    common: dict[str, Any] = {
        "backend": backend.name,
        "model_id": backend.model_id,
        "region": backend.region,
    }
    try:
        details = (
            aws.client("bedrock", backend.region, quick=True)
            .get_foundation_model(modelIdentifier=backend.model_id)
            .get("modelDetails", {})
        )
    except (ClientError, BotoCoreError) as error:
        problem = aws.classify(error)
        return ModelStatus(**common, reachable=False, detail=f"{problem.code}: {problem.message}")
    lifecycle = details.get("modelLifecycle", {})
    end_of_life = lifecycle.get("endOfLifeTime")
    if end_of_life is not None and end_of_life <= timezone.now():
        return ModelStatus(
            **common,
            reachable=False,
            lifecycle=lifecycle.get("status", ""),
            end_of_life=end_of_life,
            detail=f"AWS retired this model on {end_of_life:%Y-%m-%d}.",
        )
    return ModelStatus(
        **common,
        reachable=True,
        lifecycle=lifecycle.get("status", ""),
        end_of_life=end_of_life,
    )


def model_status(backend: BedrockModel, *, refresh: bool = False) -> ModelStatus:
    """The cached status of ``backend``'s model, checking again when stale or ``refresh``."""
    key = _cache_key(backend)
    status = None if refresh else cache.get(key)
    if status is None:
        status = check_model(backend)
        cache.set(key, status, settings.MODEL_STATUS_TTL_SECONDS)
    return status


def mark_unavailable(backend: BedrockModel, detail: str) -> None:
    """Record that a job just found ``backend``'s model unreachable, so it is not offered
    until the next check (``MODEL_STATUS_TTL_SECONDS``) or an operator's re-check."""
    status = ModelStatus(
        backend=backend.name,
        model_id=backend.model_id,
        region=backend.region,
        reachable=False,
        detail=detail,
    )
    cache.set(_cache_key(backend), status, settings.MODEL_STATUS_TTL_SECONDS)
