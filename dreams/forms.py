from django import forms

from characters.models import Character

from .models import PROMPT_MAX_CHARS, SEED_MAX
from .services import backend_choices


class DreamForm(forms.Form):
    """What a user asks for. Characters are limited to the user's own, so a foreign id posted
    by hand is "not one of the available choices"."""

    character = forms.ModelChoiceField(
        queryset=Character.objects.none(),
        to_field_name="public_id",
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of your characters."},
    )
    prompt = forms.CharField(
        max_length=PROMPT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": PROMPT_MAX_CHARS}),
        help_text=f"What should the character do? Up to {PROMPT_MAX_CHARS} characters.",
        error_messages={"required": "Write a prompt: what should the character do?"},
    )
    backend = forms.ChoiceField(choices=())
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=SEED_MAX,
        help_text="Optional. The same seed, prompt and photos give the same video.",
    )

    def __init__(self, *args, owner, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["character"].queryset = (
            Character.objects.filter(owner=owner, images__isnull=False)
            .distinct()
            .prefetch_related("images")
        )
        choices = backend_choices()
        self.fields["backend"].choices = choices
        if choices:
            self.fields["backend"].initial = choices[0][0]
