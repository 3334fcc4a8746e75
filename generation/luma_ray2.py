"""Luma Ray2 through Bedrock's async invoke: 5 s or 9 s clips in seven aspect ratios.

Request shape from the Amazon Bedrock user guide, "Luma AI models" (November 2026): ``prompt``
(1-5000 characters), ``aspect_ratio``, ``loop``, ``duration`` "5s" or "9s", ``resolution``
"540p" or "720p", and optional ``keyframes.frame0`` / ``frame1`` images. The model runs in
us-west-2 and its output bucket must be in that region. There is no seed.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from .bedrock import AsyncInvocationBackend
from .keyframes import cover_crop
from .video import BackendCapabilities, ClipRequest, InvalidClipRequest

PROMPT_CHARS = 5000
DURATIONS_SECONDS = (5.0, 9.0)
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = {"540p": 540, "720p": 720}


def frame_size(aspect_ratio: str, resolution: str) -> tuple[int, int]:
    """(width, height) in pixels of a frame: the short side is the resolution's lines, the long
    side follows the ratio, rounded to an even number (what H.264 needs)."""
    across, down = (int(part) for part in aspect_ratio.split(":"))
    short = RESOLUTIONS[resolution]
    if across >= down:
        return 2 * round(short * across / down / 2), short
    return short, 2 * round(short * down / across / 2)


class LumaRay2Backend(AsyncInvocationBackend):
    """Luma Ray2 (``luma.ray-v2:0`` in ``LUMA_RAY2_REGION``, default us-west-2)."""

    name = "luma-ray2"
    label = "Luma Ray2"
    typical_seconds_per_video_second = 24.0

    def __init__(self) -> None:
        self.model_id = settings.LUMA_RAY2_MODEL_ID
        self.region = settings.LUMA_RAY2_REGION
        self.output_s3_uri = settings.LUMA_RAY2_OUTPUT_S3_URI
        self.resolution = settings.LUMA_RAY2_RESOLUTION
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"LUMA_RAY2_RESOLUTION must be one of {', '.join(RESOLUTIONS)}.")
        self.usd_per_second = Decimal(settings.LUMA_RAY2_USD_PER_SECOND)
        width, height = frame_size("16:9", self.resolution)
        self.capabilities = BackendCapabilities(
            durations_seconds=DURATIONS_SECONDS,
            max_prompt_chars=PROMPT_CHARS,
            min_reference_images=0,
            width=width,
            height=height,
            fps=24,
            aspect_ratios=ASPECT_RATIOS,
            first_frame_durations=DURATIONS_SECONDS,
            takes_last_frame=True,
        )

    def validate(self, request: ClipRequest) -> None:
        """The shared checks, then the body is built once so a bad image is refused early."""
        super().validate(request)
        self.model_input(request)

    def model_input(self, request: ClipRequest) -> dict[str, Any]:
        """The Ray2 body; ``request.first_frame`` and ``request.last_frame``, cover-cropped to
        the chosen aspect ratio, become ``keyframes.frame0`` and ``frame1``."""
        if request.duration_seconds not in DURATIONS_SECONDS:
            raise InvalidClipRequest(
                f"Luma Ray2 makes 5 s or 9 s clips, not {request.duration_seconds:g}."
            )
        body: dict[str, Any] = {
            "prompt": request.prompt.strip(),
            "aspect_ratio": request.aspect_ratio,
            "loop": False,
            "duration": f"{int(request.duration_seconds)}s",
            "resolution": self.resolution,
        }
        width, height = frame_size(request.aspect_ratio, self.resolution)
        keyframes = {
            slot: _keyframe(path, width=width, height=height)
            for slot, path in (("frame0", request.first_frame), ("frame1", request.last_frame))
            if path is not None
        }
        if keyframes:
            body["keyframes"] = keyframes
        return body


def _keyframe(path: Path, *, width: int, height: int) -> dict[str, Any]:
    """One ``keyframes`` entry: the image at ``path`` as a ``width``×``height`` JPEG."""
    image = cover_crop(path, width=width, height=height, image_format="JPEG")
    return {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/jpeg",
            "data": base64.b64encode(image).decode(),
        },
    }
