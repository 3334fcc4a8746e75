"""One press of a form's button makes one object: the submission key a form carries
(``lib.forms.SubmissionField``) is stored on what it made, unique per owner, and the same key
sent again (a resent request, a double click that got through) finds that object instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)


def submit_once(
    model: type[M], *, owner: Any, submission_key: UUID | None, create: Callable[[], M]
) -> M:
    """The ``model`` row ``owner`` made with ``submission_key`` before, or ``create()``'s,
    called in a transaction (its errors propagate, nothing saved). ``model`` has ``owner`` and
    ``submission_key`` fields unique together; two requests with one key racing each other
    end with the winner's row for both. No key (None): always ``create()``."""

    def earlier() -> M | None:
        if submission_key is None:
            return None
        found: M | None = model._default_manager.filter(
            owner=owner, submission_key=submission_key
        ).first()
        return found

    found = earlier()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return create()
    except IntegrityError:
        found = earlier()
        if found is None:
            raise
        return found
