"""Sign-in changes that the live-progress sockets must hear about (see ``recheck_sessions``)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset
from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from .events import recheck_sessions


def _signed_out(
    sender: object, request: HttpRequest | None = None, user: Any = None, **kwargs: object
) -> None:
    if user is not None:
        session_key = request.session.session_key if request is not None else None
        recheck_sessions(user_id=user.pk, ended_session_key=session_key)


def _password_changed(sender: object, user: Any = None, **kwargs: object) -> None:
    if user is not None:
        recheck_sessions(user_id=user.pk)


def connect() -> None:
    """Called once from ``JobsConfig.ready``."""
    user_logged_out.connect(_signed_out, dispatch_uid="jobs.recheck.signed_out")
    password_changed.connect(_password_changed, dispatch_uid="jobs.recheck.password_changed")
    password_reset.connect(_password_changed, dispatch_uid="jobs.recheck.password_reset")
