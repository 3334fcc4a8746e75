"""The one base of the errors a user reads: a service that refuses a request raises a subclass
with a message written for the person who made it, and the view shows that message where they
acted (a form's error, a flash message)."""

from __future__ import annotations


class UserError(ValueError):
    """A request cannot be carried out; ``message`` says why, for the user (no paths, no
    tracebacks, nothing about another user)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
