from typing import Any

from django import forms

from .images import MAX_UPLOAD_BYTES
from .models import MAX_REFERENCE_IMAGES, Character


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that lets the browser pick several files."""

    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """A file field that accepts several files (the pattern in Django's upload docs)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        """Every uploaded file, each checked as Django's ``FileField`` checks one; [] for none."""
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


_ACCEPT = "image/jpeg,image/png,image/webp"
#: What static/js/upload-check.js checks before sending (the server checks again).
_PICKER = {"accept": _ACCEPT, "data-max-bytes": str(MAX_UPLOAD_BYTES)}


class CharacterForm(forms.ModelForm[Character]):
    """A new character: name, description and its first photos."""

    images = MultipleImageField(
        label="Reference photos",
        help_text=f"1 to {MAX_REFERENCE_IMAGES} photos of the character: JPEG, PNG or WebP, "
        "up to 10 MB and 40 megapixels each.",
        widget=MultipleFileInput(attrs={**_PICKER, "data-max-files": str(MAX_REFERENCE_IMAGES)}),
    )

    class Meta:
        model = Character
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class CharacterDetailsForm(forms.ModelForm[Character]):
    """A character's name and sheet (description, appearance, personality), edited on its
    page."""

    class Meta:
        model = Character
        fields = ["name", "description", "appearance", "personality"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "appearance": forms.Textarea(attrs={"rows": 3}),
            "personality": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "description": "One paragraph a video model can draw them from.",
            "appearance": "Face, hair, build, clothing, colours.",
            "personality": "Who they are: manner, mood, a few traits.",
        }


class AddImagesForm(forms.Form):
    """More photos for a character (each checked again by the service)."""

    images = MultipleImageField(
        label="Add photos",
        widget=MultipleFileInput(attrs=_PICKER),
    )
