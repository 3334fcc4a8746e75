"""The request a signed-in page gets: ``request.user`` is a ``User``, not possibly anonymous."""

from __future__ import annotations

from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    """The type of ``request`` in a view behind ``login_required`` (for type checking only;
    Django builds the request)."""

    user: User
