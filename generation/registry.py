"""Which video backends exist and which of them the settings turn on."""

from django.conf import settings

from .animatic import AnimaticBackend
from .luma_ray2 import LumaRay2Backend
from .nova_reel import NovaReelBackend
from .video import VideoBackend

_BACKENDS: dict[str, type[VideoBackend]] = {
    AnimaticBackend.name: AnimaticBackend,
    NovaReelBackend.name: NovaReelBackend,
    LumaRay2Backend.name: LumaRay2Backend,
}


class UnknownBackend(LookupError):
    """The name is not a backend that this installation offers."""


def configured_backends() -> list[VideoBackend]:
    """Backends named in ``settings.DREAM_BACKENDS`` whose settings are complete, in order.

    No network call: a cloud backend here may still be unreachable (see ``offered_backends``).
    """
    backends = []
    for name in settings.DREAM_BACKENDS:
        backend_class = _BACKENDS.get(name)
        if backend_class is not None:
            backend = backend_class()
            if backend.is_configured():
                backends.append(backend)
    return backends


def offered_backends() -> list[VideoBackend]:
    """Configured backends that users may choose now: cloud ones only while their model
    status check (cached) says the model can be reached."""
    from .availability import model_status

    return [
        backend
        for backend in configured_backends()
        if not backend.is_async or model_status(backend).reachable
    ]


def get_backend(name: str, *, offered_only: bool = True) -> VideoBackend:
    """The backend called ``name``: one users may choose now, or with ``offered_only=False``
    any configured one (to finish jobs already running). Raises ``UnknownBackend``."""
    backends = offered_backends() if offered_only else configured_backends()
    for backend in backends:
        if backend.name == name:
            return backend
    raise UnknownBackend(f"The backend {name!r} is not available on this site.")
