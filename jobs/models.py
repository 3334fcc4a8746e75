"""Job state shared by every kind of job, and the provider invocations any job may make.

The row is the source of truth for a job's state; the broker only carries work. Every state
change goes through ``jobs.lifecycle`` as a conditional update.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from lib.money import format_usd


class JobStatus(models.TextChoices):
    #: Not sent to work yet: a film on its storyboard, a scene whose clip is not asked for.
    DRAFT = "draft", "Not started"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # The stored value keeps its old spelling; people read the label.
    CANCELED = "canceled", "Cancelled"


class FailureKind(models.TextChoices):
    """Why a job failed, in terms of what the user can do about it."""

    NONE = "", "—"
    CONTENT_FILTER = "content_filter", "Blocked by a content filter"
    UNAVAILABLE = "unavailable", "Backend unavailable"
    PROVIDER = "provider", "Provider error"
    INTERNAL = "internal", "Internal error"


#: Statuses in which a job may still change on its own.
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
#: Statuses from which a job may be retried.
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.CANCELED)
#: Not queued or running: a job in one of these may be sent to work (again).
IDLE_STATUSES = (JobStatus.DRAFT, JobStatus.SUCCEEDED, *RETRYABLE_STATUSES)


class Job(models.Model):
    """The state every job has: queued → running → succeeded, failed or cancelled.

    ``progress`` is a fraction of the whole job in [0, 1]; ``stage`` names what it does now;
    ``error`` is shown to the user when it failed (naming the stage), ``operator_note`` only
    to operators. ``job_message_id`` is the broker message running it, so a redelivery takes
    over its own attempt only. Costs are USD. Subclasses set ``job_kind`` (the word the feed,
    the logs and the metrics use) and register it with ``jobs.kinds.register``.
    """

    job_kind: ClassVar[str] = ""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    #: The clip backend that renders it (``CLIP_BACKENDS``).
    backend = models.CharField(max_length=40)
    estimated_cost_usd = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"), help_text="USD, quoted on submit"
    )
    cost_usd = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="USD, once known"
    )
    status = models.CharField(
        max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    stage = models.CharField(max_length=40, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True, help_text="Shown to the user when the job failed.")
    failure_kind = models.CharField(
        max_length=20, choices=FailureKind.choices, default=FailureKind.NONE, blank=True
    )
    # What the provider said, for the operator (admin and logs), never shown to the user.
    operator_note = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    job_message_id = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE_STATUSES

    @property
    def log_id(self) -> str:
        """The id logs, metrics and the admin use for this job ("dream-12")."""
        return f"{self.job_kind}-{self.pk}"

    def feed_user_id(self) -> int:
        """The user whose pages receive this job's events."""
        raise NotImplementedError

    def event_extra(self) -> dict[str, Any]:
        """Fields a job kind adds to its progress event (links to its files, ...)."""
        return {}

    def progress_event(self) -> dict[str, Any]:
        """The job's state as a page sees it (what the websocket sends): ``percent`` is an
        integer 0-100, ``cost`` the actual cost once known, else the estimate."""
        succeeded = self.status == JobStatus.SUCCEEDED
        return {
            "kind": self.job_kind,
            "id": str(self.public_id),
            "status": self.status,
            "status_label": self.get_status_display(),
            "stage": self.stage,
            "percent": 100 if succeeded else min(int(self.progress * 100), 99),
            "error": self.error,
            "can_cancel": self.can_cancel,
            "can_retry": self.can_retry,
            "cost": format_usd(
                self.cost_usd if self.cost_usd is not None else self.estimated_cost_usd
            ),
            "cost_is_estimate": self.cost_usd is None,
            "content_filtered": self.failure_kind == FailureKind.CONTENT_FILTER,
            **self.event_extra(),
        }


class JobRecord(models.Model):
    """A record kept about a job of any kind, for its owner, that outlives the job: ``job`` is
    the job's row (``job_id`` becomes null when the job is deleted)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    job_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    job_id = models.PositiveBigIntegerField(null=True, blank=True)
    job = GenericForeignKey("job_type", "job_id")

    class Meta:
        abstract = True


class ChargeUnit(models.TextChoices):
    """What a paid call is billed by."""

    VIDEO_SECONDS = "video_seconds", "seconds of video"
    TOKENS = "tokens", "tokens"
    IMAGES = "images", "images"
    SPEECH_CHARACTERS = "speech_characters", "characters of speech"
    GPU_SECONDS = "gpu_seconds", "GPU-seconds"


class ChargeStatus(models.TextChoices):
    #: It may still be billed: counts against the budget at its estimate.
    RESERVED = "reserved", "Reserved"
    #: Billed: counts at its actual cost.
    SETTLED = "settled", "Settled"
    #: Never billed (stopped before the provider had it, or the provider failed it).
    VOID = "void", "Void"


class Charge(JobRecord):
    """One paid call in the spend ledger: what it is billed by (``unit``, ``quantity``), what
    it was expected to cost and what it cost, in USD. The daily budget sums these rows
    (``jobs.budget``); they outlive their job (``job_id`` becomes null). A provider's clip is
    one charge per invocation; tokens, images, speech and GPU-seconds are charges too.
    """

    backend = models.CharField(max_length=40)
    unit = models.CharField(max_length=20, choices=ChargeUnit.choices)
    quantity = models.FloatField(help_text="in the unit")
    estimated_cost_usd = models.DecimalField(max_digits=10, decimal_places=2)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.RESERVED
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"], name="jobs_charge_spend")]

    def __str__(self) -> str:
        return f"{self.quantity:g} {self.get_unit_display()} on {self.backend} ({self.status})"


class InvocationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    STARTING = "starting", "Starting"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    #: Stopped before it reached the provider: nothing billed.
    CANCELED = "canceled", "Cancelled"
    #: The job was cancelled or deleted after the provider took it: it may still bill.
    ABANDONED = "abandoned", "Abandoned"


#: The ledger's view of each invocation status: reserved while the provider may bill it
#: (abandoned ones included), settled once completed, void when it never will.
CHARGE_STATUS_OF: dict[str, str] = {
    InvocationStatus.QUEUED: ChargeStatus.RESERVED,
    InvocationStatus.STARTING: ChargeStatus.RESERVED,
    InvocationStatus.IN_PROGRESS: ChargeStatus.RESERVED,
    InvocationStatus.ABANDONED: ChargeStatus.RESERVED,
    InvocationStatus.COMPLETED: ChargeStatus.SETTLED,
    InvocationStatus.FAILED: ChargeStatus.VOID,
    InvocationStatus.CANCELED: ChargeStatus.VOID,
}


class Invocation(JobRecord):
    """One attempt of a job's clip at a cloud provider: a Bedrock async invocation.

    Created with the job (and again on each retry) so its ``client_token`` exists before any
    call: a start repeated after a crash sends the same token and is not billed twice. ``job``
    is any job model's row (a dream now, a film's scene next); the row outlives its job
    (``job_id`` becomes null), and its ``charge`` is its line in the spend ledger. Costs are
    in USD.
    """

    #: Its line in the spend ledger, kept in step with ``status`` (``jobs.invocations``).
    charge = models.OneToOneField(
        Charge, on_delete=models.SET_NULL, null=True, blank=True, related_name="invocation"
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
        indexes = [
            models.Index(fields=["owner", "created_at"], name="jobs_invocation_spend"),
            models.Index(fields=["job_type", "job_id"], name="jobs_invocation_job"),
        ]

    def __str__(self) -> str:
        return f"{self.backend} {self.client_token} ({self.status})"
