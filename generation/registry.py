"""Which clip backends exist and which of them the settings turn on.

``CLIP_BACKEND_CLASSES`` maps each name to the dotted path of its class; a class is imported
only when a backend of that name is asked for, and declaring modules import nothing heavy
(see ``generation.video``), so listing the offered backends costs a web process no OpenCV,
moviepy or torch.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from .video import ClipBackend, ClipInvocationBackend, ClipRenderer


class UnknownBackend(LookupError):
    """The name is not a backend that this installation offers."""


def backend_class(name: str) -> type[ClipBackend]:
    """The class registered as ``name`` in ``CLIP_BACKEND_CLASSES``, imported now.
    Raises ``UnknownBackend`` for a name not registered."""
    path = settings.CLIP_BACKEND_CLASSES.get(name)
    if path is None:
        raise UnknownBackend(f"The backend {name!r} is not available on this site.")
    cls: type[ClipBackend] = import_string(path)
    return cls


def backend_label(name: str) -> str:
    """What people call backend ``name`` ("Amazon Nova Reel"); the name itself for one this
    site no longer knows. Reads the class only: nothing is configured or reached."""
    try:
        return backend_class(name).label or name
    except (UnknownBackend, ImportError):
        return name


def configured_backends() -> list[ClipBackend]:
    """Backends named in ``settings.CLIP_BACKENDS`` whose settings are complete, in order.

    No network call: a cloud backend here may still be unreachable (see ``offered_backends``).
    """
    backends = []
    for name in settings.CLIP_BACKENDS:
        try:
            backend = backend_class(name)()
        except UnknownBackend:
            continue
        if backend.is_configured():
            backends.append(backend)
    return backends


def provider_backends() -> list[ClipInvocationBackend]:
    """The configured backends whose clips are a provider's invocations (the cloud)."""
    return [b for b in configured_backends() if isinstance(b, ClipInvocationBackend)]


def is_offered_now(backend: ClipBackend) -> bool:
    """Whether users may choose ``backend`` now: a provider's only while its model status
    check (cached) says the model can be reached; a local renderer's only while it has no
    ``ready_problem`` (a GPU model's weights and device are there)."""
    from .availability import model_status

    if isinstance(backend, ClipInvocationBackend):
        return model_status(backend).reachable
    if isinstance(backend, ClipRenderer):
        return backend.ready_problem() is None
    return True


def offered_backends() -> list[ClipBackend]:
    """Configured backends that users may choose now (see ``is_offered_now``)."""
    return [backend for backend in configured_backends() if is_offered_now(backend)]


def get_backend(name: str, *, offered_only: bool = True) -> ClipBackend:
    """The backend called ``name``: one users may choose now, or with ``offered_only=False``
    any configured one (to finish jobs already running). Raises ``UnknownBackend``."""
    backends = offered_backends() if offered_only else configured_backends()
    for backend in backends:
        if backend.name == name:
            return backend
    raise UnknownBackend(f"The backend {name!r} is not available on this site.")
