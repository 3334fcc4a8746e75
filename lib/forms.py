"""What a page answers after a form was submitted."""

from __future__ import annotations

from django.forms import BaseForm


def form_status(form: BaseForm) -> int:
    """400 for a submitted form with errors (so tests and tools see the refusal), else 200."""
    return 400 if form.is_bound and form.errors else 200
