"""What a page answers after a form was submitted."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.forms import BaseForm


def form_status(form: BaseForm) -> int:
    """400 for a submitted form with errors (so tests and tools see the refusal), else 200."""
    return 400 if form.is_bound and form.errors else 200


class SubmissionField(forms.UUIDField):
    """The hidden key that makes a form's double submission create one object. A value that
    is not a UUID (a page tampered with, a stale cache) counts as no key, rather than an
    error the user cannot see or fix in a hidden field."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        # A new key each time the form is shown (a callable initial is called per render).
        super().__init__(required=False, initial=uuid.uuid4, **kwargs)

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            return None
