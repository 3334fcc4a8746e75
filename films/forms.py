"""Forms for a film's brief and for editing one scene of its storyboard. The choices come from
what this site has (genres, styles, installed voices, offered backends); the services check
everything again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from accounts.models import User
from characters.models import Character
from generation.beats import GENRES
from generation.music import MOODS
from generation.script import MAX_SCENES, MIN_SCENES
from generation.styles import STYLES
from generation.video import ClipBackend
from generation.voices import installed_voices
from generation.writing import ScriptWriter
from lib.forms import SubmissionField

from .models import (
    IDEA_MAX_CHARS,
    MAX_FILM_SECONDS,
    MIN_FILM_SECONDS,
    NARRATION_MAX_CHARS,
    THEME_MAX_CHARS,
    Framing,
    Transition,
)


class CastField(forms.ModelMultipleChoiceField[Character]):
    """A choice of the user's characters, shown by name."""

    def label_from_instance(self, obj: Any) -> str:
        """The character's name."""
        return str(obj.name)


class FilmForm(forms.Form):
    """A film's brief. The cast is limited to the user's own characters with photos."""

    title = forms.CharField(max_length=120, required=False, help_text="Optional: from the idea.")
    idea = forms.CharField(
        max_length=IDEA_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What happens, to whom? One or two sentences.",
        error_messages={"required": "Write the idea of your film: what happens, to whom?"},
    )
    genre = forms.ChoiceField(choices=[(k, g.label) for k, g in GENRES.items()])
    theme = forms.CharField(
        max_length=THEME_MAX_CHARS,
        required=False,
        help_text="Optional: what the film is about underneath (“home is people, not places”).",
    )
    style = forms.ChoiceField(
        choices=[(k, label) for k, (label, _) in STYLES.items()],
        widget=forms.RadioSelect,
        label="Visual style",
    )
    cast = CastField(
        queryset=Character.objects.none(),
        to_field_name="public_id",
        widget=forms.CheckboxSelectMultiple,
        help_text="One to three of your characters.",
        error_messages={
            "required": "Choose one to three of your characters for the cast.",
            "invalid_choice": "Choose the cast from your own characters.",
            "invalid_pk_value": "Choose the cast from your own characters.",
        },
    )
    target_seconds = forms.IntegerField(
        min_value=MIN_FILM_SECONDS,
        max_value=MAX_FILM_SECONDS,
        initial=60,
        label="Length (seconds)",
        help_text=f"{MIN_FILM_SECONDS} s to {MAX_FILM_SECONDS // 60} minutes.",
    )
    scene_count = forms.IntegerField(
        required=False,
        min_value=MIN_SCENES,
        max_value=MAX_SCENES,
        label="Scenes",
        help_text=f"Optional: {MIN_SCENES} to {MAX_SCENES}; by default one per ten seconds.",
    )
    voice = forms.ChoiceField(
        choices=(),
        label="Narration voice",
        help_text="The script is written in English: for another language, write each "
        "scene's narration in it on the storyboard.",
    )
    music_mood = forms.ChoiceField(
        choices=[
            ("", "From the genre"),
            *((k, m.label) for k, m in MOODS.items()),
            ("none", "No music"),
        ],
        required=False,
        label="Music",
    )
    writer = forms.ChoiceField(
        choices=(),
        widget=forms.RadioSelect,
        label="Script written by",
        help_text="A language model writes the script (and the narration in the voice's "
        "language) in the background, its cost reserved from your daily budget; the template "
        "writes it at once, free, in English.",
    )
    backend = forms.ChoiceField(choices=(), widget=forms.RadioSelect, label="Clips made by")
    chaining = forms.BooleanField(
        required=False,
        initial=True,
        label="Continuous cuts: each scene opens on the last frame of the one before",
    )
    burn_subtitles = forms.BooleanField(required=False, label="Burn the subtitles into the picture")
    draw_keyframes = forms.BooleanField(
        required=False,
        label="Draw the keyframes on the GPU from the cast's photos",
        help_text="Local GPU backends only: each scene's first and last frames are drawn by "
        "the keyframe model when the scene renders; the storyboard shows the framed photos "
        "until then.",
    )
    submission = SubmissionField()

    def __init__(
        self,
        *args: Any,
        owner: User,
        backends: Sequence[ClipBackend],
        writers: Sequence[ScriptWriter] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Offered where a language model is configured besides the template.
        if len(writers) > 1:
            cast(forms.ChoiceField, self.fields["writer"]).choices = [
                (w.name, w.label) for w in writers
            ]
            self.initial.setdefault("writer", writers[0].name)
        else:
            del self.fields["writer"]
        cast(forms.ModelMultipleChoiceField[Character], self.fields["cast"]).queryset = (
            Character.objects.filter(owner=owner, images__isnull=False).distinct().order_by("name")
        )
        voices = installed_voices()
        cast(forms.ChoiceField, self.fields["voice"]).choices = [(v.name, v.label) for v in voices]
        if voices:
            self.initial.setdefault("voice", voices[0].name)
        cast(forms.ChoiceField, self.fields["backend"]).choices = [
            (b.name, b.label) for b in backends
        ]
        if backends:
            self.initial.setdefault("backend", backends[0].name)
        self.initial.setdefault("style", "natural")
        # Offered where some backend here can draw keyframes now (none with no backends).
        if all(b.drawing_problem() for b in backends):
            del self.fields["draw_keyframes"]

    def clean_cast(self) -> Any:
        """The chosen cast: one to three characters."""
        chosen = self.cleaned_data["cast"]
        if len(chosen) > 3:
            raise forms.ValidationError("A film's cast has at most three characters.")
        return chosen


class SceneForm(forms.Form):
    """One scene of the storyboard."""

    heading = forms.CharField(max_length=120)
    shot = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="What the shot shows"
    )
    narration = forms.CharField(
        max_length=NARRATION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "The narration is empty: write what the narrator says."},
    )
    first_frame_text = forms.CharField(max_length=500, label="First frame")
    last_frame_text = forms.CharField(max_length=500, label="Last frame")
    cast = CastField(
        queryset=Character.objects.none(),
        to_field_name="public_id",
        widget=forms.CheckboxSelectMultiple,
        label="In the shot",
        help_text="Two or three are composed side by side in the keyframes.",
        error_messages={"required": "Choose who is in the shot, from the film's cast."},
    )
    framing = forms.ChoiceField(choices=Framing.choices)
    transition = forms.ChoiceField(choices=Transition.choices, label="Into the next scene")

    def __init__(self, *args: Any, film: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the film's own cast: another character's id is "not one of the choices".
        cast(
            forms.ModelMultipleChoiceField[Character], self.fields["cast"]
        ).queryset = film.cast.order_by("name")
