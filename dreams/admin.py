from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.admin import InvocationInline
from lib.admin import StoredFileLinksAdmin

from . import services
from .models import Dream


@admin.register(Dream)
class DreamAdmin(StoredFileLinksAdmin):
    """Dreams for operators: read-only rows with their invocations, file links through the admin's
    own permission check, and Retry and Cancel as actions through the services."""

    file_fields = ("video", "poster")
    list_display = [
        "public_id",
        "owner",
        "character_name",
        "status",
        "stage",
        "percent",
        "backend",
        "duration_seconds",
        "estimated_cost_usd",
        "cost_usd",
        "failure_kind",
        "created_at",
    ]
    list_filter = ["status", "backend", "failure_kind", "created_at"]
    inlines = [InvocationInline]
    list_select_related = ["owner"]
    search_fields = ["prompt", "owner__email", "character_name", "public_id", "error"]
    date_hierarchy = "created_at"
    actions = ["retry_selected", "cancel_selected"]
    readonly_fields = [
        "public_id",
        "owner",
        "character",
        "character_name",
        "prompt",
        "backend",
        "seed",
        "requested_seconds",
        "aspect_ratio",
        "first_frame",
        "draw_first_frame",
        "estimated_cost_usd",
        "cost_usd",
        "status",
        "stage",
        "progress",
        "error",
        "failure_kind",
        "operator_note",
        "attempts",
        "job_message_id",
        "video_link",
        "poster_link",
        "duration_seconds",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
    ]
    fieldsets = (
        (None, {"fields": ("public_id", "owner", "character", "character_name", "prompt")}),
        (
            "Render",
            {
                "fields": (
                    "backend",
                    "seed",
                    "requested_seconds",
                    "aspect_ratio",
                    "first_frame",
                    "draw_first_frame",
                )
            },
        ),
        ("Cost (USD)", {"fields": ("estimated_cost_usd", "cost_usd")}),
        (
            "Job",
            {
                "fields": (
                    "status",
                    "stage",
                    "progress",
                    "error",
                    "failure_kind",
                    "operator_note",
                    "attempts",
                    "job_message_id",
                )
            },
        ),
        ("Result", {"fields": ("video_link", "poster_link", "duration_seconds")}),
        ("Times", {"fields": ("created_at", "updated_at", "started_at", "finished_at")}),
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: dreams are made through the service (validation, cost, queueing), not typed in."""
        # Dreams are made through the service (validation, cost, enqueue), not typed in.
        return False

    @admin.display(description="video")
    def video_link(self, dream: Dream) -> str:
        """A link to the dream's video, checked by the admin's permission."""
        return self.file_link(dream, "video", "video.mp4")

    @admin.display(description="poster")
    def poster_link(self, dream: Dream) -> str:
        """A link to the dream's poster, checked by the admin's permission."""
        return self.file_link(dream, "poster", "poster.jpg")

    @admin.display(description="progress", ordering="progress")
    def percent(self, dream: Dream) -> str:
        """The dream's progress in whole percent."""
        return f"{dream.progress * 100:.0f}%"

    def _apply(
        self,
        request: HttpRequest,
        queryset: QuerySet[Dream],
        action: Callable[..., object],
        verb: str,
    ) -> None:
        done, refused = 0, []
        for dream in queryset:
            try:
                action(dream=dream)
                done += 1
            except services.DreamError as error:
                refused.append(f"{dream.public_id}: {error.message}")
        if done:
            self.message_user(request, f"{verb} {done} dream(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description="Retry selected failed or cancelled dreams")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Dream]) -> None:
        """``retry_dream`` on each selected dream; those it refuses are listed with why."""
        self._apply(request, queryset, services.retry_dream, "Queued again")

    @admin.action(description="Cancel selected queued or running dreams")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Dream]) -> None:
        """``cancel_dream`` on each selected dream; those it refuses are listed with why."""
        self._apply(request, queryset, services.cancel_dream, "Cancelled")
