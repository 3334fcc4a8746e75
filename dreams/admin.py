from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from jobs.admin import InvocationInline
from lib.files import file_response

from . import services
from .models import Dream


@admin.register(Dream)
class DreamAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request) -> bool:
        # Dreams are made through the service (validation, cost, enqueue), not typed in.
        return False

    @admin.display(description="video")
    def video_link(self, dream: Dream) -> str:
        return self._file_link(dream, "video", "video.mp4")

    @admin.display(description="poster")
    def poster_link(self, dream: Dream) -> str:
        return self._file_link(dream, "poster", "poster.jpg")

    def _file_link(self, dream: Dream, field: str, label: str) -> str:
        # Media has no public URL: staff open it through the admin's own permission check.
        if not getattr(dream, field):
            return "—"
        url = reverse("admin:dreams_dream_file", args=[dream.pk, field])
        return format_html('<a href="{}">{}</a>', url, label)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:dream_id>/file/<str:field>/",
                self.admin_site.admin_view(self.file_view),
                name="dreams_dream_file",
            ),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, dream_id: int, field: str) -> HttpResponseBase:
        """The dream's video or poster, for staff who may view dreams."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if field not in ("video", "poster"):
            raise Http404("No such file.")
        return file_response(request, getattr(get_object_or_404(Dream, pk=dream_id), field))

    @admin.display(description="progress", ordering="progress")
    def percent(self, dream: Dream) -> str:
        return f"{dream.progress * 100:.0f}%"

    def _apply(self, request, queryset: QuerySet, action, verb: str) -> None:
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
    def retry_selected(self, request, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.retry_dream, "Queued again")

    @admin.action(description="Cancel selected queued or running dreams")
    def cancel_selected(self, request, queryset: QuerySet) -> None:
        self._apply(request, queryset, services.cancel_dream, "Cancelled")
