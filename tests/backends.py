"""Backends that exist only for tests, registered through ``CLIP_BACKEND_CLASSES``."""

from generation.animatic import AnimaticBackend


class GpuQueueAnimatic(AnimaticBackend):
    """The animatic, declared as running on the ``gpu`` queue (as a local model will)."""

    name = "animatic-gpu"
    label = "Animatic on the gpu queue (test)"
    queue = "gpu"
