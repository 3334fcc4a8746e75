"""Amazon Nova Reel through Bedrock's async invoke: 6 s clips and 12-120 s multi-shot videos.

Request shapes and limits are from the Amazon Nova user guide, "Generating videos with Amazon
Nova Reel" (November 2026): ``TEXT_VIDEO`` takes 1-512 characters and at most one opening image
of exactly 1280×720 8-bit RGB PNG or JPEG; ``MULTI_SHOT_AUTOMATED`` (model v1:1 only) takes
1-4000 characters, no image, and a duration that is a multiple of 6 from 12 to 120. Both render
1280×720 at 24 fps with a seed of 0..2147483646.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from django.conf import settings

from .bedrock import AsyncInvocationBackend
from .keyframes import check_keyframe, cover_crop
from .video import BackendCapabilities, ClipRequest, InvalidClipRequest

WIDTH, HEIGHT, FPS = 1280, 720, 24
SINGLE_SHOT_SECONDS = 6.0
SINGLE_SHOT_PROMPT_CHARS = 512
MULTI_SHOT_PROMPT_CHARS = 4000
MULTI_SHOT_SECONDS = tuple(float(seconds) for seconds in range(12, 121, 6))
SEED_MAX = 2_147_483_646
#: Model versions that accept the multi-shot task types.
_MULTI_SHOT_MODELS = ("amazon.nova-reel-v1:1",)


class NovaReelBackend(AsyncInvocationBackend):
    """Nova Reel (``NOVA_REEL_MODEL_ID``, default ``amazon.nova-reel-v1:1`` in us-east-1)."""

    name = "nova-reel"
    label = "Amazon Nova Reel"

    def __init__(self) -> None:
        self.model_id = settings.NOVA_REEL_MODEL_ID
        self.region = settings.NOVA_REEL_REGION
        self.output_s3_uri = settings.NOVA_REEL_OUTPUT_S3_URI
        self.usd_per_second = Decimal(settings.NOVA_REEL_USD_PER_SECOND)
        multi_shot = self.model_id in _MULTI_SHOT_MODELS
        self.capabilities = BackendCapabilities(
            durations_seconds=(SINGLE_SHOT_SECONDS,) + (MULTI_SHOT_SECONDS if multi_shot else ()),
            max_prompt_chars=SINGLE_SHOT_PROMPT_CHARS,
            min_reference_images=0,
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            aspect_ratios=("16:9",),
            first_frame_durations=(SINGLE_SHOT_SECONDS,),
        )

    def prompt_limit(self, duration_seconds: float) -> int:
        """512 characters for a 6 s clip, 4000 for a multi-shot video."""
        if duration_seconds == SINGLE_SHOT_SECONDS:
            return SINGLE_SHOT_PROMPT_CHARS
        return MULTI_SHOT_PROMPT_CHARS

    def typical_seconds(self, duration_seconds: float) -> float:
        """About 90 s for a 6 s clip and 14-17 min for 120 s (AWS's published figures)."""
        if duration_seconds == SINGLE_SHOT_SECONDS:
            return 90.0
        return 8.0 * duration_seconds

    def validate(self, request: ClipRequest) -> None:
        """The shared checks, the seed range, and the opening image's exact format."""
        super().validate(request)
        if not 0 <= request.seed <= SEED_MAX:
            raise InvalidClipRequest(f"The seed must be between 0 and {SEED_MAX}.")
        self.model_input(request)

    def opening_image(self, request: ClipRequest) -> bytes | None:
        """``request.first_frame`` cover-cropped to 1280×720 PNG when the duration takes an
        opening image (6 s only); else None."""
        if request.first_frame is None or request.duration_seconds != SINGLE_SHOT_SECONDS:
            return None
        return cover_crop(request.first_frame, width=WIDTH, height=HEIGHT)

    def model_input(self, request: ClipRequest) -> dict[str, Any]:
        """A ``TEXT_VIDEO`` body for 6 s, ``MULTI_SHOT_AUTOMATED`` for 12-120 s."""
        if request.duration_seconds == SINGLE_SHOT_SECONDS:
            return text_video_input(
                prompt=request.prompt.strip(),
                seed=request.seed,
                image_png=self.opening_image(request),
            )
        return multi_shot_automated_input(
            prompt=request.prompt.strip(),
            seed=request.seed,
            duration_seconds=request.duration_seconds,
        )


def _generation_config(duration_seconds: float, seed: int) -> dict[str, Any]:
    return {
        "durationSeconds": int(duration_seconds),
        "fps": FPS,
        "dimension": f"{WIDTH}x{HEIGHT}",
        "seed": seed,
    }


def text_video_input(*, prompt: str, seed: int, image_png: bytes | None = None) -> dict[str, Any]:
    """The ``TEXT_VIDEO`` body: a 6 s clip, optionally opening on ``image_png``.

    Raises ``InvalidClipRequest`` for a prompt outside 1-512 characters or an image that is not
    exactly 1280×720 8-bit RGB PNG/JPEG.
    """
    if not 1 <= len(prompt) <= SINGLE_SHOT_PROMPT_CHARS:
        raise InvalidClipRequest(
            f"A 6 s Nova Reel prompt must be 1 to {SINGLE_SHOT_PROMPT_CHARS} characters, "
            f"not {len(prompt)}."
        )
    params: dict[str, Any] = {"text": prompt}
    if image_png is not None:
        check_keyframe(image_png, width=WIDTH, height=HEIGHT)
        image_format = "jpeg" if image_png[:3] == b"\xff\xd8\xff" else "png"
        params["images"] = [
            {"format": image_format, "source": {"bytes": base64.b64encode(image_png).decode()}}
        ]
    return {
        "taskType": "TEXT_VIDEO",
        "textToVideoParams": params,
        "videoGenerationConfig": _generation_config(SINGLE_SHOT_SECONDS, seed),
    }


def multi_shot_automated_input(
    *, prompt: str, seed: int, duration_seconds: float
) -> dict[str, Any]:
    """The ``MULTI_SHOT_AUTOMATED`` body: one prompt, 12-120 s in steps of 6, no image.

    Raises ``InvalidClipRequest`` for another duration or a prompt outside 1-4000 characters.
    """
    if duration_seconds not in MULTI_SHOT_SECONDS:
        raise InvalidClipRequest(
            f"A multi-shot Nova Reel video lasts a multiple of 6 seconds from 12 to 120, "
            f"not {duration_seconds:g}."
        )
    if not 1 <= len(prompt) <= MULTI_SHOT_PROMPT_CHARS:
        raise InvalidClipRequest(
            f"A multi-shot Nova Reel prompt must be 1 to {MULTI_SHOT_PROMPT_CHARS} characters, "
            f"not {len(prompt)}."
        )
    return {
        "taskType": "MULTI_SHOT_AUTOMATED",
        "multiShotAutomatedParams": {"text": prompt},
        "videoGenerationConfig": _generation_config(duration_seconds, seed),
    }
