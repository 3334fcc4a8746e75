"""A step's result is fresh while the key of the inputs it was made from is the key its inputs
give now: each step (``keyframes``, ``narration``, ``clips``, ``music``, ``assembly``) writes its
own key from its own inputs with ``input_key``, so one edit changes the keys of exactly the
steps that depend on it."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def input_key(*parts: Any) -> str:
    """A step's key: the SHA-256 (hex) of ``parts`` as JSON; the first part names the step and
    the version of its rule ("clip-1"), so a changed rule makes every earlier result stale."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
