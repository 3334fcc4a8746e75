"""Films: an idea and a cast become a script of scenes, each a keyframe pair, a narration and a
clip, assembled into one video with music, subtitles and chapters.

A film and each of its scenes are jobs (``jobs.models.Job``). A film is a draft while its
storyboard is edited; pressing Render queues it. A scene's job is its clip: it is queued by the
film's pipeline (``films.pipeline``) when its clip is missing or stale.

Every finished step keeps the key of the inputs it was made from (``*_key``): a step is stale
when the key its inputs give now differs, so an edit redoes exactly what depends on it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from jobs.models import Job, JobStatus
from lib.files import versioned_url

#: Longest idea and theme, in characters.
IDEA_MAX_CHARS, THEME_MAX_CHARS = 2000, 200
#: Longest narration of one scene, in characters (about a minute of speech).
NARRATION_MAX_CHARS = 1000
#: Shortest and longest film, in seconds.
MIN_FILM_SECONDS, MAX_FILM_SECONDS = 30, 600
#: Most scenes a film has, however it is edited.
MAX_SCENES = 40
#: Largest keyframe and clip seed (the range every backend takes).
SEED_MAX = 2_147_483_646
#: A draft film's stage while a language model writes its script (it has no scenes yet).
SCRIPT_STAGE = "script"
#: A film's frame size in pixels (width, height), by aspect ratio.
FRAME_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}


def film_media_path(film_id: uuid.UUID, name: str) -> str:
    """Where a film's file lives in storage: a fresh name per render, so a re-render never
    overwrites (or is cached as) what a browser already has."""
    stem, _, extension = name.rpartition(".")
    return f"films/{film_id}/{stem}-{uuid.uuid4().hex[:12]}.{extension}"


class Film(Job):
    """A short film: its brief (idea, genre, theme, style, cast, length, voice, music), its
    script's scenes (``scenes``), and once assembled, its video, poster and subtitles.
    ``target_seconds`` and ``duration_seconds`` are seconds; ``music_mood`` "" follows the
    genre and "none" has no music."""

    job_kind = "film"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="films"
    )
    title = models.CharField(max_length=120)
    logline = models.CharField(max_length=500, blank=True)
    idea = models.TextField()
    genre = models.CharField(max_length=30)
    theme = models.CharField(max_length=THEME_MAX_CHARS, blank=True)
    style = models.CharField(max_length=30)
    cast = models.ManyToManyField("characters.Character", related_name="films")
    target_seconds = models.PositiveIntegerField(help_text="seconds")
    # Scenes the brief asked for (None: by length); a model writer is told it.
    scene_count = models.PositiveSmallIntegerField(null=True, blank=True)
    voice = models.CharField(max_length=40)
    music_mood = models.CharField(max_length=20, blank=True)
    aspect_ratio = models.CharField(max_length=8, default="16:9")
    # Each scene opens on the last frame of the one before (scenes then render in order).
    chaining = models.BooleanField(default=True)
    # A local GPU film's scenes open and close on keyframes the GPU draws from the cast's
    # photos when each clip renders (until then the storyboard shows the framed photos).
    draw_keyframes = models.BooleanField(default=False)
    burn_subtitles = models.BooleanField(default=False)
    # Who writes the script: a name in ``generation.writers.WRITERS``.
    writer = models.CharField(max_length=20, default="template")
    # A change asked of the script that a language model is writing (``films.revisions``):
    # "scene" (the scene ``revision_scene``), "script" or "continue"; "" when none.
    revision_scope = models.CharField(max_length=10, blank=True)
    revision_instruction = models.TextField(blank=True)
    revision_scene = models.UUIDField(null=True, blank=True)
    seed = models.PositiveBigIntegerField()
    video = models.FileField(blank=True, max_length=255)
    poster = models.FileField(blank=True, max_length=255)
    subtitles_vtt = models.FileField(blank=True, max_length=255)
    subtitles_srt = models.FileField(blank=True, max_length=255)
    music = models.FileField(blank=True, max_length=255)
    music_key = models.CharField(max_length=64, blank=True)
    assembly_key = models.CharField(max_length=64, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True, help_text="seconds")
    submission_key = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="film_history")]
        constraints = [
            models.UniqueConstraint(fields=["owner", "submission_key"], name="film_submitted_once")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_draft(self) -> bool:
        """Whether the film was never sent to render (its storyboard is being edited)."""
        return self.status == JobStatus.DRAFT

    @property
    def is_writing(self) -> bool:
        """Whether a language model is writing (or failed to write) the script: no scenes yet."""
        return self.stage == SCRIPT_STAGE

    @property
    def can_edit(self) -> bool:
        """The storyboard can be edited: not while it renders."""
        return not self.is_active

    @property
    def frame_size(self) -> tuple[int, int]:
        """Width and height in pixels of the film's keyframes and frames."""
        return FRAME_SIZES.get(self.aspect_ratio, FRAME_SIZES["16:9"])

    def feed_user_id(self) -> int:
        """The user whose websocket hears about this film: its owner."""
        return self.owner_id

    @property
    def poster_url(self) -> str:
        """The poster's address for this poster file ("" without one)."""
        if not self.poster:
            return ""
        return versioned_url(reverse("films:poster", args=[self.public_id]), self.poster.name)

    def event_extra(self) -> dict[str, Any]:
        """What a film's progress event adds: its cut's addresses (video, poster, subtitles; new
        for each cut), its subtitle track's language and label, and its length in seconds."""
        from generation.voices import find_voice

        extra: dict[str, Any] = {"status_label": "Storyboard"} if self.is_draft else {}
        if self.is_writing:
            extra = {"status_label": "Script", "writing": True}
        elif self.revision_scope:
            extra["writing"] = True
        video = reverse("films:video", args=[self.public_id])
        subtitles = reverse("films:subtitles", args=[self.public_id, "vtt"])
        voice = find_voice(self.voice)
        return {
            **extra,
            # Addresses per file: after "Render changes" the page plays the new cut. The
            # current cut stays playable while a new one renders (it is replaced only when
            # the new one is finished).
            "video_url": versioned_url(video, self.video.name) if self.video else "",
            "poster_url": self.poster_url,
            "subtitles_url": versioned_url(subtitles, self.subtitles_vtt.name)
            if self.video and self.subtitles_vtt
            else "",
            # The sidecar track's language, and whether it shows by default: not when the
            # subtitles are burnt into the picture, or every line would show twice.
            "subtitles_language": voice.language_tag if voice else "und",
            "subtitles_label": voice.language_name if voice else "Subtitles",
            "subtitles_default": not self.burn_subtitles,
            "duration_seconds": self.duration_seconds,
        }


class Framing(models.TextChoices):
    """How close a scene's keyframes frame the cast."""

    WIDE = "wide", "Wide shot"
    MEDIUM = "medium", "Medium shot"
    CLOSE = "close", "Close-up"


class Transition(models.TextChoices):
    """How a scene gives way to the next: a crossfade, a dip to black, or a cut
    (``generation.assembly``)."""

    CROSSFADE = "crossfade", "Crossfade"
    DIP = "dip", "Dip to black"
    CUT = "cut", "Cut"


class Scene(Job):
    """One scene of a film: its script (heading, shot, narration, keyframe descriptions, cast,
    framing), and what was made from it: two keyframes, the narration (with its timed
    ``cues``: [{"text", "start", "end", "words": [[word, start, end], ...]}], seconds from the
    narration's start), the clip (the scene's job), and the clip's last frame and thumbnail.
    ``transition`` joins it to the next scene. ``clip_seconds`` is the clip's length."""

    job_kind = "scene"

    film = models.ForeignKey(Film, on_delete=models.CASCADE, related_name="scenes")
    # The film's owner, kept here so every lookup and feed check is one filter.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="film_scenes"
    )
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=120)
    shot = models.CharField(max_length=500)
    narration = models.TextField(max_length=NARRATION_MAX_CHARS)
    first_frame_text = models.CharField(max_length=500)
    last_frame_text = models.CharField(max_length=500)
    cast = models.ManyToManyField("characters.Character", related_name="film_scenes")
    framing = models.CharField(max_length=10, choices=Framing.choices, default=Framing.MEDIUM)
    planned_seconds = models.FloatField(default=6.0, help_text="seconds")
    transition = models.CharField(
        max_length=10, choices=Transition.choices, default=Transition.CROSSFADE
    )
    keyframe_seed = models.PositiveBigIntegerField(default=0)
    clip_seed = models.PositiveBigIntegerField(default=0)

    first_keyframe = models.FileField(blank=True, max_length=255)
    last_keyframe = models.FileField(blank=True, max_length=255)
    keyframes_key = models.CharField(max_length=64, blank=True)
    narration_audio = models.FileField(blank=True, max_length=255)
    narration_seconds = models.FloatField(null=True, blank=True, help_text="seconds")
    cues = models.JSONField(default=list, blank=True)
    narration_key = models.CharField(max_length=64, blank=True)
    clip = models.FileField(blank=True, max_length=255)
    clip_last_frame = models.FileField(blank=True, max_length=255)
    thumbnail = models.FileField(blank=True, max_length=255)
    clip_seconds = models.FloatField(null=True, blank=True, help_text="seconds")
    #: Encoded as the assembly encodes (the animatic): its body is copied, not encoded again.
    clip_copyable = models.BooleanField(default=False)
    #: The key the clip being rendered is for (set when it is queued).
    pending_clip_key = models.CharField(max_length=64, blank=True)
    clip_key = models.CharField(max_length=64, blank=True)
    #: SHA-256 of the clip's last frame: what a chained next scene opens on.
    last_frame_digest = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["film", "position", "id"]
        indexes = [models.Index(fields=["film", "position"], name="scene_order")]

    def __str__(self) -> str:
        return f"{self.film_id}#{self.position}: {self.heading}"

    @property
    def number(self) -> int:
        """The scene's number as people count (1-based)."""
        return self.position + 1

    def feed_user_id(self) -> int:
        """The user whose websocket hears about this scene: its film's owner."""
        return self.owner_id

    def _file_url(self, field: str) -> str:
        name = getattr(self, field).name
        if not name:
            return ""
        url = reverse("films:scene_file", args=[self.film.public_id, self.public_id, field])
        return versioned_url(url, name)

    def event_extra(self) -> dict[str, Any]:
        """What a scene's progress event adds: its film, number, the addresses of its thumbnail
        and keyframes, and its narration's and clip's lengths in seconds."""
        return {
            "film_id": str(self.film.public_id),
            "number": self.number,
            "thumbnail_url": self._file_url("thumbnail"),
            "first_keyframe_url": self._file_url("first_keyframe"),
            "last_keyframe_url": self._file_url("last_keyframe"),
            "narration_seconds": self.narration_seconds,
            "clip_seconds": self.clip_seconds,
        }
