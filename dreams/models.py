"""Dreams: one prompt plus one character rendered into one video clip."""

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.db import models

#: Nova Reel's prompt limit, in characters (Amazon Nova user guide, "Video generation access
#: and usage": textToVideoParams.text is 1-512 characters). Backends may allow less.
PROMPT_MAX_CHARS = 512
#: Seeds are kept within Nova Reel's accepted range, 0..2147483646, so any backend accepts them.
SEED_MAX = 2_147_483_646


class DreamStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


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

    status = models.CharField(
        max_length=12, choices=DreamStatus.choices, default=DreamStatus.QUEUED, db_index=True
    )
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True, help_text="Shown to the user when the dream failed.")
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
