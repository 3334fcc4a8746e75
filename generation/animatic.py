"""The animatic backend: an offline, CPU-only renderer of a real, watchable clip.

An animatic, in the film trade's sense, is a rough cut made from still images before the
expensive shots exist. The drawing and encoding live in ``generation.animatic_render``, which
imports OpenCV and moviepy; this module only declares the backend, so a web process reading
its capabilities never loads them.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .video import (
    BackendCapabilities,
    ClipRenderer,
    ClipRequest,
    ProgressCallback,
    RenderCanceled,
    RenderedClip,
    RenderError,
)

# Share of the whole job's progress that each stage covers.
_PREPARING_END = 0.05
_RENDERING_END = 0.95


class AnimaticBackend(ClipRenderer):
    """Offline, CPU-only video backend: always configured, costs nothing."""

    name = "animatic"
    label = "Animatic (offline preview, free)"
    makes_assembly_pieces = True
    capabilities = BackendCapabilities(
        durations_seconds=(6.0,), max_prompt_chars=512, scene_seconds=(2.0, 60.0)
    )

    def render(
        self, request: ClipRequest, *, workdir: Path, progress: ProgressCallback
    ) -> RenderedClip:
        """Render a 1280×720, 24 fps H.264 MP4, a JPEG poster and its last frame into
        ``workdir``, from ``request.reference_images`` (or ``first_frame`` when none); a film's
        scene (``request.scene``) moves from ``first_frame`` to ``last_frame``, without fades
        or caption, opening and closing on them exactly, and makes ``request.body`` with it
        when asked (the same frames, one encoder process).

        Raises ``RenderError`` (stage "preparing") when a reference image cannot be read, or
        (stage "rendering") when ffmpeg fails; ``RenderCanceled`` passes through from
        ``progress``.
        """
        from .animatic_render import AnimaticRenderer

        caps = self.capabilities
        progress("preparing", 0.0)
        renderer = AnimaticRenderer(
            images=_source_images(request), prompt=request.prompt, seed=request.seed,
            duration=request.duration_seconds, width=caps.width, height=caps.height,
            fps=caps.fps, scene=request.scene,
        )  # fmt: skip
        progress("rendering", _PREPARING_END)
        video_path, poster_path = workdir / "video.mp4", workdir / "poster.jpg"
        last_frame_path = workdir / "last-frame.jpg"
        # A film's scene may be asked for its body too, made from the same frames.
        body = (request.body, workdir / "body.mp4") if request.scene and request.body else None
        span = _RENDERING_END - _PREPARING_END
        try:
            renderer.write(
                video_path=video_path,
                poster_path=poster_path,
                last_frame_path=last_frame_path,
                on_frame=lambda f: progress("rendering", _PREPARING_END + span * f),
                body=body,
            )
        except RenderCanceled:
            raise
        except OSError as error:
            raise RenderError("rendering", f"The video encoder failed: {error}") from error
        progress("finishing", _RENDERING_END)
        return RenderedClip(
            video_path=video_path,
            poster_path=poster_path,
            last_frame_path=last_frame_path,
            duration_seconds=request.duration_seconds,
            body=body[0] if body else None,
            body_path=body[1] if body else None,
            metadata={
                "width": caps.width,
                "height": caps.height,
                "fps": caps.fps,
                # A film's scene is encoded as the assembly encodes: its body is copied.
                "assembly_copyable": request.scene,
            },
        )


def _source_images(request: ClipRequest) -> list[Image.Image]:
    """The pictures a clip is made of, as RGB: a film's scene moves from its first keyframe to
    its last (the reference photos when it has none); a dream shows its reference photos (or
    its opening frame when none). Raises ``RenderError`` ("preparing") for an image that
    cannot be read, or none at all."""
    if request.scene:
        keyframes = [request.first_frame, request.last_frame]
        sources = [path for path in keyframes if path is not None] or request.reference_images
    else:
        sources = request.reference_images or (
            [request.first_frame] if request.first_frame is not None else []
        )
    images = []
    for path in sources:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        except OSError as error:
            raise RenderError(
                "preparing", f"A reference image could not be read: {error}"
            ) from error
    if not images:
        raise RenderError("preparing", "The character has no reference images.")
    return images
