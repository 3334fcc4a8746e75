"""Films and their scenes in the admin: status, stage, failure and cost at a glance; cancel or
retry a film, render a scene again."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.admin import InvocationInline
from lib.admin import StoredFileLinksAdmin

from . import services
from .errors import FilmError
from .models import Film, Scene

#: A film's files, opened in the admin through its own permission check.
FILM_FILES = ("video", "poster", "subtitles_vtt", "subtitles_srt", "music")
JOB_FIELDS = ("status", "stage", "progress", "error", "failure_kind", "operator_note", "attempts")


class SceneInline(admin.TabularInline[Scene, Film]):
    """A film's scenes in the admin, read-only (scenes change through the storyboard)."""

    model = Scene
    fields = (
        "position",
        "heading",
        "status",
        "stage",
        "error",
        "clip_seconds",
        "estimated_cost_usd",
        "cost_usd",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("position",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: scenes are added on the storyboard."""
        return False


def _apply(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, items: Any, action: Any, verb: str
) -> None:
    done, refused = 0, []
    for item in items:
        try:
            action(item)
            done += 1
        except FilmError as error:
            refused.append(f"{item}: {error.message}")
    if done:
        model_admin.message_user(request, f"{verb} {done}.", messages.SUCCESS)
    for line in refused:
        model_admin.message_user(request, line, messages.WARNING)


@admin.register(Film)
class FilmAdmin(StoredFileLinksAdmin):
    """Films for operators: read-only rows with their scenes, file links through the admin's
    permission check, and Cancel and Retry as actions through the services."""

    file_fields = FILM_FILES
    list_display = [
        "title", "owner", "status", "stage", "percent", "backend", "duration_seconds",
        "estimated_cost_usd", "cost_usd", "failure_kind", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "backend", "writer", "genre", "style", "failure_kind", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["title", "idea", "owner__email", "public_id", "error"]
    date_hierarchy = "created_at"
    inlines = [SceneInline]
    actions = ["cancel_selected", "retry_selected"]
    exclude = ["cast", "submission_key"]
    readonly_fields = [
        *(f.name for f in Film._meta.fields if f.name not in ("id", *FILM_FILES)),
        "video_link", "poster_link", "subtitles_link", "music_link",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: films are made through the service from a brief."""
        # Films are made through the service (script, checks, budget), not typed in.
        return False

    @admin.display(description="video")
    def video_link(self, film: Film) -> str:
        """A link to the film's video, checked by the admin's permission."""
        return self.file_link(film, "video", "film.mp4")

    @admin.display(description="poster")
    def poster_link(self, film: Film) -> str:
        """A link to the film's poster, checked by the admin's permission."""
        return self.file_link(film, "poster", "poster.jpg")

    @admin.display(description="subtitles")
    def subtitles_link(self, film: Film) -> str:
        """A link to the film's WebVTT subtitles, checked by the admin's permission."""
        return self.file_link(film, "subtitles_vtt", "subtitles.vtt")

    @admin.display(description="music")
    def music_link(self, film: Film) -> str:
        """A link to the film's music bed, checked by the admin's permission."""
        return self.file_link(film, "music", "music.wav")

    @admin.display(description="progress", ordering="progress")
    def percent(self, film: Film) -> str:
        """The film's progress in whole percent."""
        return f"{film.progress * 100:.0f}%"

    @admin.action(description="Cancel selected films")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Film]) -> None:
        """``cancel_film`` on each selected film; those it refuses are listed with why."""
        _apply(self, request, queryset, lambda film: services.cancel_film(film=film), "Cancelled")

    @admin.action(description="Retry selected failed or cancelled films")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Film]) -> None:
        """``retry_film`` on each selected film; those it refuses are listed with why."""
        _apply(self, request, queryset, lambda film: services.retry_film(film=film), "Queued again")


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin[Scene]):
    """Scenes for operators, each with its film, clip, cost and invocations."""

    list_display = [
        "__str__", "owner", "status", "stage", "error", "backend", "clip_seconds",
        "estimated_cost_usd", "cost_usd", "updated_at",
    ]  # fmt: skip
    list_filter = ["status", "backend", "failure_kind"]
    list_select_related = ["owner", "film"]
    search_fields = ["heading", "narration", "film__title", "owner__email", "error"]
    inlines = [InvocationInline]
    actions = ["rerender_selected"]
    exclude = ["cast"]
    readonly_fields = [field.name for field in Scene._meta.fields if field.name not in ("id",)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: scenes are added on the storyboard."""
        return False

    @admin.action(description="Render selected scenes again (and their films' assembly)")
    def rerender_selected(self, request: HttpRequest, queryset: QuerySet[Scene]) -> None:
        """``rerender_scene`` on each selected scene; those it refuses are listed with why."""
        _apply(
            self,
            request,
            queryset,
            lambda scene: services.rerender_scene(scene=scene),
            "Queued again",
        )
