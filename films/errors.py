"""What goes wrong with a film, in words for its owner: a refused request (``FilmError``) and a
step that failed while the film was being made (``StepError``)."""

from __future__ import annotations

from lib.errors import UserError


class FilmError(UserError):
    """A request about a film cannot be carried out; ``message`` says why, for the user."""


class StepError(RuntimeError):
    """A step failed; ``stage`` names it and ``message`` says why, for the user."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage, self.message = stage, message


class FilmGone(Exception):
    """The film or scene was deleted while a step worked on it; what the step stored for it
    has been deleted again."""


def unexpected(error: BaseException) -> str:
    """The message a user gets for an error nobody foresaw: its type, not its text (which may
    hold paths or other people's data); the operator finds the traceback in the logs."""
    return (
        f"An internal error stopped it ({type(error).__name__}). "
        "The operator can see the details in the logs."
    )
