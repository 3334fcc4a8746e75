"""Sign-in changes that the live-progress sockets must hear about (see ``recheck_sessions``)."""

from __future__ import annotations

from allauth.account.signals import password_changed, password_reset
from django.contrib.auth.signals import user_logged_out

from .events import recheck_sessions


def _signed_out(sender, request=None, user=None, **kwargs) -> None:
    if user is not None:
        session_key = request.session.session_key if request is not None else None
        recheck_sessions(user_id=user.pk, ended_session_key=session_key)


def _password_changed(sender, user=None, **kwargs) -> None:
    if user is not None:
        recheck_sessions(user_id=user.pk)


def connect() -> None:
    """Called once from ``DreamsConfig.ready``."""
    user_logged_out.connect(_signed_out, dispatch_uid="dreams.recheck.signed_out")
    password_changed.connect(_password_changed, dispatch_uid="dreams.recheck.password_changed")
    password_reset.connect(_password_changed, dispatch_uid="dreams.recheck.password_reset")
