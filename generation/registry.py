"""Which video backends exist and which of them the settings turn on."""

from django.conf import settings

from .animatic import AnimaticBackend
from .video import VideoBackend

_BACKENDS: dict[str, type[VideoBackend]] = {
    AnimaticBackend.name: AnimaticBackend,
}


class UnknownBackend(LookupError):
    """The name is not a backend that this installation offers."""


def available_backends() -> list[VideoBackend]:
    """Backends named in ``settings.DREAM_BACKENDS`` that are configured, in that order."""
    backends = []
    for name in settings.DREAM_BACKENDS:
        backend_class = _BACKENDS.get(name)
        if backend_class is not None:
            backend = backend_class()
            if backend.is_configured():
                backends.append(backend)
    return backends


def get_backend(name: str) -> VideoBackend:
    """The available backend called ``name``. Raises ``UnknownBackend`` otherwise."""
    for backend in available_backends():
        if backend.name == name:
            return backend
    raise UnknownBackend(f"The backend {name!r} is not available on this site.")
