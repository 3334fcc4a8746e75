"""Dreams: one prompt plus one character rendered into one video clip."""

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models
from django.urls import reverse

from jobs.models import ACTIVE_STATUSES, FailureKind, Job, JobStatus

#: The longest prompt any backend takes, in characters (Luma Ray2's 5000). Each backend's own
#: limit (``ClipBackend.prompt_limit``) is checked by the service.
PROMPT_MAX_CHARS = 5000
#: Seeds are kept within Nova Reel's accepted range, 0..2147483646, so any backend accepts them.
SEED_MAX = 2_147_483_646


__all__ = [
    "ACTIVE_STATUSES",
    "Dream",
    "DreamStatus",
    "FailureKind",
    "PROMPT_MAX_CHARS",
    "SEED_MAX",
    "dream_media_path",
]

# The job states are shared by every kind of job; these names stay for the dreams' code.
DreamStatus = JobStatus


def dream_media_path(instance: "Dream", filename: str) -> str:
    """Where a dream's file lives in storage: ``dreams/<public_id>/<name>``."""
    # A new name per render, so a retried dream never overwrites (or is cached as) the old one.
    extension = filename.rsplit(".", 1)[-1]
    return f"dreams/{instance.public_id}/{uuid.uuid4().hex}.{extension}"


class Dream(Job):
    """One prompt plus one character rendered into one clip: a job (``jobs.models.Job``)
    and, once it succeeds, its video. ``duration_seconds`` is the finished video's length.
    """

    job_kind = "dream"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dreams"
    )
    character = models.ForeignKey(
        "characters.Character",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dreams",
    )
    # Kept so the history still says who starred after the character is deleted.
    character_name = models.CharField(max_length=80)
    prompt = models.TextField(
        validators=[MinLengthValidator(1), MaxLengthValidator(PROMPT_MAX_CHARS)],
    )
    seed = models.PositiveBigIntegerField()
    requested_seconds = models.FloatField(default=6.0, help_text="seconds")
    aspect_ratio = models.CharField(max_length=8, default="16:9")
    # Open the clip on the character's first photo (cloud backends that take an image).
    first_frame = models.BooleanField(default=True)
    # Open instead on a keyframe the GPU keyframe model draws (local GPU backends only).
    draw_first_frame = models.BooleanField(default=False)
    video = models.FileField(upload_to=dream_media_path, blank=True, max_length=255)
    poster = models.FileField(upload_to=dream_media_path, blank=True, max_length=255)
    duration_seconds = models.FloatField(null=True, blank=True, help_text="seconds")
    # One per press of the form's button, so a resent request makes no second dream.
    submission_key = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="dream_history")]
        constraints = [
            models.UniqueConstraint(fields=["owner", "submission_key"], name="dream_submitted_once")
        ]

    def __str__(self) -> str:
        return f"{self.character_name}: {self.prompt[:40]}"

    def feed_user_id(self) -> int:
        """The user whose websocket hears about this dream: its owner."""
        return self.owner_id

    def event_extra(self) -> dict[str, Any]:
        """The dream's own part of its progress event: where to play and show it."""
        succeeded = self.status == JobStatus.SUCCEEDED
        return {
            "video_url": reverse("dreams:video", args=[self.public_id]) if succeeded else "",
            "poster_url": reverse("dreams:poster", args=[self.public_id]) if self.poster else "",
            "duration_seconds": self.duration_seconds,
        }
