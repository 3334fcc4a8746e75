from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from characters.models import Character
from generation.video import ClipBackend
from lib.forms import SubmissionField

from .models import PROMPT_MAX_CHARS, SEED_MAX


def _seconds_label(seconds: float) -> str:
    return f"{seconds:g} s"


class OwnCharacterField(forms.ModelChoiceField[Character]):
    """A choice among the user's characters, by public id; an id that is not even a UUID
    gets the same plain message as a foreign one, not Django's "… is not a valid UUID"."""

    def to_python(self, value: object) -> Character | None:
        """The chosen character, or None; an id that is not a UUID is "not one of the choices"
        too."""
        try:
            return super().to_python(value)
        except ValidationError as error:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from error


class DreamForm(forms.Form):
    """What a user asks for. Characters are limited to the user's own, so a foreign id posted
    by hand is "not one of the available choices". Backends, durations and aspect ratios come
    from the backends offered now; which combinations a backend takes is checked by the
    service, and ``offers`` lets the page show only valid ones and the cost before submitting.
    """

    character = OwnCharacterField(
        queryset=Character.objects.none(),
        to_field_name="public_id",
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of your characters."},
    )
    prompt = forms.CharField(
        max_length=PROMPT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What should the character do?",
        error_messages={"required": "Write a prompt: what should the character do?"},
    )
    backend = forms.ChoiceField(choices=(), widget=forms.RadioSelect)
    duration = forms.TypedChoiceField(choices=(), coerce=float, label="Length")
    aspect_ratio = forms.ChoiceField(choices=(), label="Aspect ratio")
    first_frame = forms.BooleanField(
        required=False,
        initial=True,
        label="Open on the character's first photo",
        help_text="Nova Reel takes it for 6 s clips only (its long videos are made from the "
        "prompt alone); a local GPU clip always opens on a photo or on a drawn frame.",
    )
    draw_first_frame = forms.BooleanField(
        required=False,
        label="Open on a frame drawn from the photos",
        help_text="Local GPU backends only: FLUX.2 [klein] draws the character in the scene "
        "you describe, and the clip opens on that drawing.",
    )
    #: A new key each time the form is shown; the same key sent twice makes one dream.
    submission = SubmissionField()
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=SEED_MAX,
        help_text="Optional. The same seed, prompt and photos give the same video.",
    )

    def __init__(
        self, *args: Any, owner: User, backends: Sequence[ClipBackend], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField[Character], self.fields["character"]).queryset = (
            Character.objects.filter(owner=owner, images__isnull=False)
            .distinct()
            .prefetch_related("images")
        )
        cast(forms.ChoiceField, self.fields["backend"]).choices = [
            (b.name, b.label) for b in backends
        ]
        durations = sorted({d for b in backends for d in b.capabilities.durations_seconds})
        cast(forms.ChoiceField, self.fields["duration"]).choices = [
            (f"{d:g}", _seconds_label(d)) for d in durations
        ]
        ratios = list(dict.fromkeys(r for b in backends for r in b.capabilities.aspect_ratios))
        cast(forms.ChoiceField, self.fields["aspect_ratio"]).choices = [(r, r) for r in ratios]
        if backends:
            first = backends[0].capabilities
            self.fields["backend"].initial = backends[0].name
            self.fields["duration"].initial = f"{first.durations_seconds[0]:g}"
            self.fields["aspect_ratio"].initial = first.aspect_ratios[0]
        # Whether the GPU keyframe model is ready (a local GPU backend can open on a drawing).
        drawing_ok = {b.name: b.drawing_problem() is None for b in backends}
        drawing = any(drawing_ok.values())
        if not drawing:
            del self.fields["draw_first_frame"]
        #: What the page's script needs to show valid choices and the estimated cost.
        self.offers = {
            b.name: {
                "durations": list(b.capabilities.durations_seconds),
                "aspect_ratios": list(b.capabilities.aspect_ratios),
                "first_frame_durations": list(b.capabilities.first_frame_durations),
                "prompt_limits": {
                    f"{d:g}": b.prompt_limit(d) for d in b.capabilities.durations_seconds
                },
                "usd_per_second": str(b.usd_per_second),
                "estimates": {
                    f"{d:g}": str(b.estimate_cost_usd(d)) for d in b.capabilities.durations_seconds
                },
                # With the opening frame drawn first (its GPU-seconds too).
                "drawn_estimates": {
                    f"{d:g}": str(b.estimate_cost_usd(d, drawn_keyframes=1))
                    for d in b.capabilities.durations_seconds
                },
                "is_paid": any(
                    b.estimate_cost_usd(d) > 0 for d in b.capabilities.durations_seconds
                ),
                "per_second": b.usd_per_second > 0,
                "draws_first_frame": drawing_ok[b.name],
            }
            for b in backends
        }
