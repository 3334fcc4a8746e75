"""Dreams: one prompt plus one character rendered into one video clip."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models

#: The longest prompt any backend takes, in characters (Luma Ray2's 5000). Each backend's own
#: limit (``VideoBackend.prompt_limit``) is checked by the service.
PROMPT_MAX_CHARS = 5000
#: Seeds are kept within Nova Reel's accepted range, 0..2147483646, so any backend accepts them.
SEED_MAX = 2_147_483_646


class DreamStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class FailureKind(models.TextChoices):
    """Why a dream failed, in terms of what the user can do about it."""

    NONE = "", "—"
    CONTENT_FILTER = "content_filter", "Blocked by a content filter"
    UNAVAILABLE = "unavailable", "Backend unavailable"
    PROVIDER = "provider", "Provider error"
    INTERNAL = "internal", "Internal error"


#: Statuses in which a job may still change on its own.
ACTIVE_STATUSES = (DreamStatus.QUEUED, DreamStatus.RUNNING)


def dream_media_path(instance: "Dream", filename: str) -> str:
    # A new name per render, so a retried dream never overwrites (or is cached as) the old one.
    extension = filename.rsplit(".", 1)[-1]
    return f"dreams/{instance.public_id}/{uuid.uuid4().hex}.{extension}"


class Dream(models.Model):
    """A render job and, once it succeeds, its clip.

    The row is the source of truth for the job's state; the broker only carries work.
    ``progress`` is a fraction of the whole job in [0, 1]; ``duration_seconds`` is the
    length of the finished video.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dreams"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
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
    backend = models.CharField(max_length=40)
    seed = models.PositiveBigIntegerField()
    requested_seconds = models.FloatField(default=6.0, help_text="seconds")
    aspect_ratio = models.CharField(max_length=8, default="16:9")
    # Open the clip on the character's first photo (cloud backends that take an image).
    first_frame = models.BooleanField(default=True)
    estimated_cost_usd = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), help_text="USD, quoted on submit"
    )
    cost_usd = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="USD, once known"
    )

    status = models.CharField(
        max_length=12, choices=DreamStatus.choices, default=DreamStatus.QUEUED, db_index=True
    )
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True, help_text="Shown to the user when the dream failed.")
    failure_kind = models.CharField(
        max_length=20, choices=FailureKind.choices, default=FailureKind.NONE, blank=True
    )
    # What the provider said, for the operator (admin and logs), never shown to the user.
    operator_note = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The broker message rendering it, so a redelivery can take over its own attempt only.
    job_message_id = models.CharField(max_length=64, blank=True, editable=False)

    video = models.FileField(upload_to=dream_media_path, blank=True, max_length=255)
    poster = models.FileField(upload_to=dream_media_path, blank=True, max_length=255)
    duration_seconds = models.FloatField(null=True, blank=True, help_text="seconds")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="dream_history")]

    def __str__(self) -> str:
        return f"{self.character_name}: {self.prompt[:40]}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def can_retry(self) -> bool:
        return self.status in (DreamStatus.FAILED, DreamStatus.CANCELED)


class InvocationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    STARTING = "starting", "Starting"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    #: Stopped before it reached the provider: nothing billed.
    CANCELED = "canceled", "Canceled"
    #: The dream was cancelled or deleted after the provider took the job: it may still bill.
    ABANDONED = "abandoned", "Abandoned"


#: Invocation statuses that count against the daily budget at their estimated cost.
BUDGETED_STATUSES = (
    InvocationStatus.QUEUED,
    InvocationStatus.STARTING,
    InvocationStatus.IN_PROGRESS,
    InvocationStatus.ABANDONED,
)


class Invocation(models.Model):
    """One attempt of a dream at a cloud provider: a Bedrock async invocation.

    Created with the dream (and again on each retry) so its ``client_token`` exists before any
    call: a start repeated after a crash sends the same token and is not billed twice. The row
    outlives its dream (``dream`` becomes null) because it is the spending record.
    Costs are in USD.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invocations"
    )
    dream = models.ForeignKey(
        Dream, on_delete=models.SET_NULL, null=True, blank=True, related_name="invocations"
    )
    backend = models.CharField(max_length=40)
    model_id = models.CharField(max_length=80)
    region = models.CharField(max_length=32)
    client_token = models.CharField(max_length=64, unique=True)
    arn = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(
        max_length=12,
        choices=InvocationStatus.choices,
        default=InvocationStatus.QUEUED,
        db_index=True,
    )
    video_seconds = models.FloatField(help_text="seconds of video asked for")
    estimated_cost_usd = models.DecimalField(max_digits=10, decimal_places=2)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    # Consecutive polls that met a provider error, and times the start was throttled.
    poll_errors = models.PositiveIntegerField(default=0)
    busy_retries = models.PositiveIntegerField(default=0)
    failure_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="invocation_spend")]

    def __str__(self) -> str:
        return f"{self.backend} {self.client_token} ({self.status})"
