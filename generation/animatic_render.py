"""The animatic renderer: an offline, CPU-only renderer of a real, watchable clip.

An animatic, in the film trade's sense, is a rough cut made from still images before the
expensive shots exist. This one slowly pans and zooms over each reference image (the "Ken
Burns" effect), crossfades between them, fades in from and out to black, and lays the prompt
over the picture as a caption. Images are decoded and the caption drawn with Pillow; frames are
warped and blended with OpenCV (several times faster than Pillow's resize, which would make the
encoder wait), then fed to the one H.264 encoding (``encoding``), ``+faststart`` so browsers
play it while it downloads. The same seed gives the
same frames.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .encoding import FASTSTART, encode_frames, h264, save_stills
from .text import TextSetter
from .video import BodyPiece

#: Seconds of overlap between two images.
CROSSFADE_SECONDS = 0.8
#: Seconds of fade from black at the start and to black at the end.
FADE_SECONDS = 0.4
#: Share of the frame's height kept free of caption text at the bottom, where a browser's
#: video controls sit over the picture (Chromium's bar is about 11 % of a 16:9 player).
CAPTION_LIFT = 0.13
#: Largest zoom of a pan; zooming only ever enlarges, so linear interpolation never aliases.
MAX_ZOOM = 1.18


@dataclass(frozen=True)
class _Move:
    """One image's pan and zoom: crop-box centres and zoom factors at its start and end."""

    image: np.ndarray
    start: float
    end: float
    centre_from: tuple[float, float]
    centre_to: tuple[float, float]
    zoom_from: float
    zoom_to: float


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _cover(image: Image.Image, width: int, height: int) -> np.ndarray:
    """Scale ``image`` (keeping its aspect) to the smallest size covering width × height.

    Returns an RGB array of shape (h, w, 3) with h >= height and w >= width.
    """
    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


class AnimaticRenderer:
    """Draws and encodes one animatic.

    ``width``/``height`` in pixels, ``fps`` in frames per second, ``duration`` in seconds.
    """

    def __init__(
        self,
        *,
        images: list[Image.Image],
        prompt: str,
        seed: int,
        duration: float = 6.0,
        width: int = 1280,
        height: int = 720,
        fps: int = 24,
        scene: bool = False,
    ) -> None:
        if not images:
            raise ValueError("An animatic needs at least one image.")
        self.width, self.height, self.fps, self.duration = width, height, fps, duration
        # A film's scene: no fades or caption, and the whole first and last image at its ends,
        # so a chained scene continues exactly where the one before stopped.
        self._scene = scene
        self._seed = seed
        self._rng = random.Random(seed)
        self._moves = self._plan_moves(images)
        self._caption_top, self._caption_keep, self._caption_add = self._draw_caption(
            "" if scene else prompt
        )

    def _plan_moves(self, images: list[Image.Image]) -> list[_Move]:
        count = len(images)
        overlap = CROSSFADE_SECONDS if count > 1 else 0.0
        segment = (self.duration + overlap * (count - 1)) / count
        moves = []
        for index, image in enumerate(images):
            base = _cover(image.convert("RGB"), self.width, self.height)
            zoom_in = self._rng.random() < 0.5
            if self._scene:
                zoom_in = index == 0 if count > 1 else zoom_in
            zooms = (1.0, MAX_ZOOM) if zoom_in else (MAX_ZOOM, 1.0)
            start = index * (segment - overlap)
            centre_from = self._random_centre(base, zooms[0])
            centre_to = self._random_centre(base, zooms[1])
            if self._scene and index == 0:
                centre_from = self._middle(base)
            if self._scene and index == count - 1:
                centre_to = self._middle(base)
                zooms = (zooms[0], 1.0)
            moves.append(
                _Move(
                    image=base,
                    start=start,
                    end=start + segment,
                    centre_from=centre_from,
                    centre_to=centre_to,
                    zoom_from=zooms[0],
                    zoom_to=zooms[1],
                )
            )
        return moves

    def _crop_size(self, base: np.ndarray, zoom: float) -> tuple[float, float]:
        # At zoom 1 the crop covers the base's short side at the frame's aspect.
        scale = min(base.shape[1] / self.width, base.shape[0] / self.height) / zoom
        return self.width * scale, self.height * scale

    @staticmethod
    def _middle(base: np.ndarray) -> tuple[float, float]:
        return base.shape[1] / 2, base.shape[0] / 2

    def _random_centre(self, base: np.ndarray, zoom: float) -> tuple[float, float]:
        crop_w, crop_h = self._crop_size(base, zoom)
        slack_x, slack_y = base.shape[1] - crop_w, base.shape[0] - crop_h
        # Portrait photos keep faces: stay in the upper two thirds of the free range.
        return (
            crop_w / 2 + slack_x * self._rng.uniform(0.2, 0.8),
            crop_h / 2 + slack_y * self._rng.uniform(0.1, 0.6),
        )

    def _draw_caption(self, prompt: str) -> tuple[int, np.ndarray, np.ndarray]:
        """Pre-render the caption band once.

        Returns its top edge in pixels and two (band_h, width, 3) uint8 arrays: how much of
        the picture to keep (255 = all) and what to add on top (premultiplied caption).
        """
        font_size = round(self.height / 22)
        setter = TextSetter(size=font_size)
        lines = setter.wrap(prompt, max_width=round(self.width * 0.9), max_lines=3)
        line_height = round(font_size * 1.5)
        pad = round(font_size * 0.6)
        # The text stands clear of the bottom strip where players draw their controls; the
        # shade still reaches the bottom edge.
        lift = round(self.height * CAPTION_LIFT)
        band_h = line_height * len(lines) + 2 * pad + lift
        top = self.height - band_h
        # A soft dark gradient behind the text keeps it readable over bright photos.
        gradient = np.linspace(0, 170, band_h, dtype=np.float32)[:, None]
        layer = Image.new("RGBA", (self.width, band_h), (0, 0, 0, 0))
        layer.putalpha(Image.fromarray(np.repeat(gradient, self.width, axis=1).astype(np.uint8)))
        for row, line in enumerate(lines):
            image = setter.line_image(line)
            layer.alpha_composite(image, ((self.width - image.width) // 2, pad + row * line_height))
        rgba = np.asarray(layer, dtype=np.uint16)
        alpha = rgba[:, :, 3:4]
        keep = np.repeat(255 - alpha, 3, axis=2).astype(np.uint8)
        add = (rgba[:, :, :3] * alpha // 255).astype(np.uint8)
        return top, keep, add

    def _move_frame(self, move: _Move, t: float) -> np.ndarray:
        x = _smoothstep((t - move.start) / (move.end - move.start))
        zoom = move.zoom_from + (move.zoom_to - move.zoom_from) * x
        cx = move.centre_from[0] + (move.centre_to[0] - move.centre_from[0]) * x
        cy = move.centre_from[1] + (move.centre_to[1] - move.centre_from[1]) * x
        crop_w, crop_h = self._crop_size(move.image, zoom)
        left = min(max(cx - crop_w / 2, 0.0), move.image.shape[1] - crop_w)
        top = min(max(cy - crop_h / 2, 0.0), move.image.shape[0] - crop_h)
        scale = crop_w / self.width
        # Maps each output pixel back to its source position (a pure scale and shift).
        inverse = np.array([[scale, 0.0, left], [0.0, scale, top]], dtype=np.float64)
        return cv2.warpAffine(
            move.image,
            inverse,
            (self.width, self.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )

    def frame(self, t: float) -> np.ndarray:
        """The frame at ``t`` seconds: an RGB uint8 array of shape (height, width, 3)."""
        active = [m for m in self._moves if m.start <= t < m.end] or [self._moves[-1]]
        picture = self._move_frame(active[0], t)
        if len(active) > 1:
            incoming = active[1]
            alpha = _smoothstep((t - incoming.start) / CROSSFADE_SECONDS)
            picture = cv2.addWeighted(
                picture, 1.0 - alpha, self._move_frame(incoming, t), alpha, 0.0
            )
        if self._scene:
            return picture
        band = picture[self._caption_top :]
        band[:] = cv2.add(cv2.multiply(band, self._caption_keep, scale=1 / 255), self._caption_add)
        fade = min(t / FADE_SECONDS, (self.duration - t) / FADE_SECONDS, 1.0)
        if fade < 1.0:
            # A per-channel scalar is valid OpenCV; its stubs only know arrays.
            picture = cv2.multiply(picture, (max(fade, 0.0),) * 3)  # type: ignore[call-overload]
        return picture

    def poster_time(self) -> float:
        """When the poster frame is taken, in seconds: the middle of one photo's own stretch
        (never a crossfade), the photo chosen by the seed, so a character's dreams do not all
        show its first photo in the history."""
        move = self._moves[random.Random(f"poster-{self._seed}").randrange(len(self._moves))]
        overlap = CROSSFADE_SECONDS if len(self._moves) > 1 else 0.0
        start = move.start + (overlap if move is not self._moves[0] else 0.0)
        end = move.end - (overlap if move is not self._moves[-1] else 0.0)
        return (start + end) / 2

    def _frames(self, total: int, on_frame: Callable[[float], None] | None) -> Iterator[np.ndarray]:
        """The clip's ``total`` frames in order, calling ``on_frame(fraction)`` after each."""
        for index in range(total):
            yield self.frame(index / self.fps)
            if on_frame is not None:
                on_frame((index + 1) / total)

    def _outputs_for_assembly(
        self, video_path: Path, total: int, body: tuple[BodyPiece, Path] | None
    ) -> list[str]:
        """A film scene's outputs: the assembly's own encoder settings with an IDR frame where
        each transition may cut it (``TRANSITION_FRAMES`` from either end), so the assembly
        copies its body instead of encoding it again; with ``body`` (a piece and where to write
        it), the same frames also go, cut to the piece and its lines drawn in, to a second
        encoder in the same process."""
        from .assembly import TRANSITION_FRAMES, subtitles_filter, video_encode

        cuts = f"expr:eq(n,{TRANSITION_FRAMES})+eq(n,{total - TRANSITION_FRAMES})"
        clip_output = [*video_encode(), "-force_key_frames", cuts, "-forced-idr", "1",
                       *FASTSTART, str(video_path)]  # fmt: skip
        if body is None:
            return clip_output
        piece, body_path = body
        lines = subtitles_filter(piece.subtitles, body_path, width=self.width,
                                 height=self.height)  # fmt: skip
        graph = (
            f"[0:v]split=2[clip][cut];[cut]trim=start_frame={piece.first}:"
            f"end_frame={piece.end},setpts=PTS-STARTPTS{lines}[body]"
        )
        return [
            "-filter_complex", graph, "-map", "[clip]", *clip_output,
            "-map", "[body]", *video_encode(), str(body_path),
        ]  # fmt: skip

    def write(
        self,
        *,
        video_path: Path,
        poster_path: Path,
        last_frame_path: Path,
        on_frame: Callable[[float], None] | None = None,
        body: tuple[BodyPiece, Path] | None = None,
    ) -> None:
        """Encode the clip to ``video_path`` (MP4, the one H.264 encoding: ``encoding.h264``),
        its poster to ``poster_path`` and its very last frame to ``last_frame_path`` (both
        JPEG, ``encoding.save_stills``); a film's scene is encoded for the assembly, with its
        ``body`` piece when given (``_outputs_for_assembly``).

        ``on_frame(fraction)`` is called for every frame written, fraction in [0, 1]; an
        exception it raises stops the encode. Raises ``OSError`` when ffmpeg fails.
        """
        total = round(self.duration * self.fps)
        save_stills(
            poster=self.frame(self.poster_time()), last=self.frame((total - 1) / self.fps),
            poster_path=poster_path, last_frame_path=last_frame_path,
        )  # fmt: skip
        if self._scene:
            outputs = self._outputs_for_assembly(video_path, total, body)
        else:
            outputs = [*h264(fps=self.fps), *FASTSTART, str(video_path)]
        encode_frames(
            self._frames(total, on_frame), width=self.width, height=self.height, fps=self.fps,
            outputs=outputs,
        )  # fmt: skip
