"""Benchmark: one GPU clip per preset (generation/gpu_render.py, the worker's own code) side by
side with diffusers' defaults for the same model, resolution and frame count, in one run.

Weights are random (nothing is downloaded): the model's real shapes are built in memory and
saved with ``save_pretrained``, then both sides load them from that folder. With random weights
the frames are noise, so the PSNR of the quality preset's frames against the defaults' measures
numerical drift only (bf16, kernels), not picture quality; both sides' frames go through the
same H.264 encoding first.

- ``--tiny``: diffusers' small test shapes on the CPU (what CI runs): the same code, in seconds.
- default: the Wan FLF2V shape at 1.3B width (30 blocks of 12 heads × 128, ffn 8960, the real
  Wan VAE, a CLIP ViT-H image encoder; a two-layer text encoder of the real 4096 width, since
  the prompt is encoded once per clip) at 480×832×81 frames on ``cuda``. ``--layers N`` builds
  fewer blocks (``--layers 1 --size 64x64 --device cpu`` checks the shapes on any machine).

"diffusers' defaults": ``WanImageToVideoPipeline.from_pretrained(folder)`` (float32, the
default attention, no compile) called with its default 50 steps and guidance 5.0. Ours: the
worker's render path with ``GPU_PRESET`` quality and draft.

Run: .venv/bin/python bench/gpu_clip.py [--tiny] [--layers N] [--size WxH] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dreamsite.settings")
PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"


def build_full_wan(folder: Path, layers: int) -> Path:
    """The Wan FLF2V pipeline shape at 1.3B width with random weights, saved in ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModel,
        UMT5Config,
        UMT5EncoderModel,
    )

    from tests.gpu_models import _tokenizer

    torch.manual_seed(0)
    pipeline = WanImageToVideoPipeline(
        vae=AutoencoderKLWan(),  # the real Wan VAE's shape (its defaults)
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),
        text_encoder=UMT5EncoderModel(
            UMT5Config(vocab_size=32, d_model=4096, d_kv=64, d_ff=10240, num_layers=2,
                     num_heads=64, relative_attention_num_buckets=32)
        ).eval(),  # fmt: skip
        tokenizer=_tokenizer(),
        transformer=WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128,
            in_channels=36, out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960,
            num_layers=layers, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
            eps=1e-6, image_dim=1280, added_kv_proj_dim=1536, rope_max_seq_len=1024,
            pos_embed_seq_len=2 * 257,
        ),
        image_encoder=CLIPVisionModel(
            CLIPVisionConfig(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                             num_attention_heads=16, image_size=224, patch_size=14)
        ),  # fmt: skip
        image_processor=CLIPImageProcessor(crop_size=224, size=224),
        transformer_2=None,
    )  # fmt: skip
    pipeline.save_pretrained(folder)
    return folder


def frames_of(video: Path, width: int, height: int) -> np.ndarray:
    """Every frame of ``video`` as uint8 RGB (frames × height × width × 3), decoded by ffmpeg."""
    from generation.assembly import ffmpeg_exe

    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 frame stacks, in dB."""
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--size", default="")
    parser.add_argument("--device", default="")
    options = parser.parse_args()
    device = options.device or ("cpu" if options.tiny else "cuda")
    size = options.size or ("32x32" if options.tiny else "832x480")
    folder = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    os.environ.update(
        {"WAN_WEIGHTS": str(folder / "wan"), "WAN_SIZE": size, "GPU_DEVICE": device,
         "CLIP_BACKENDS": "wan-flf2v"}
    )  # fmt: skip
    import django

    django.setup()
    import torch
    from diffusers import WanImageToVideoPipeline
    from django.conf import settings
    from PIL import Image, ImageOps

    from generation.gpu_models import WanBackend
    from generation.gpu_render import _encode as encode
    from generation.gpu_render import warm_pipeline
    from generation.video import ClipRequest
    from tests.gpu_models import build_tiny_wan

    started = time.perf_counter()
    if options.tiny:
        build_tiny_wan(folder / "wan")
    else:
        build_full_wan(folder / "wan", options.layers)
    built = time.perf_counter() - started
    backend = WanBackend()
    width, height = backend.size
    frames = backend.frame_count(5.0)
    shape = (
        "tiny test shapes" if options.tiny else f"Wan FLF2V, 1.3B width, {options.layers} blocks"
    )
    print(f"{shape}; {width}x{height}, {frames} frames; device {device}; built in {built:.1f} s")
    if device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name(device)}")

    first, last = PHOTOS / "astronaut.png", PHOTOS / "chelsea.png"
    fitted = [ImageOps.fit(Image.open(p).convert("RGB"), (width, height)) for p in (first, last)]

    # diffusers' defaults: float32, its default attention, 50 steps, guidance 5.0.
    steps = settings.GPU_STEPS or 50
    pipeline = WanImageToVideoPipeline.from_pretrained(folder / "wan").to(device)
    pipeline.set_progress_bar_config(disable=True)

    def defaults(pipe, steps: int):
        return pipe(
            image=fitted[0], last_image=fitted[1], prompt="a cat", negative_prompt="",
            height=height, width=width, num_frames=frames, num_inference_steps=steps,
            guidance_scale=5.0, generator=torch.Generator().manual_seed(1), output_type="np",
        )  # fmt: skip

    # Every side first makes one untimed two-step clip: the first run of a process picks
    # its kernels (and, with torch.compile, compiles), which is not a clip's cost.
    defaults(pipeline, 2)
    started = time.perf_counter()
    output = defaults(pipeline, steps)
    default_seconds = time.perf_counter() - started
    default_frames = (np.clip(output.frames[0], 0, 1) * 255).round().astype(np.uint8)
    del pipeline, output
    print(f"\ndiffusers' defaults ({steps} steps): {default_seconds:7.2f} s")

    for preset in ("quality", "draft"):
        settings.GPU_PRESET = preset
        workdir = folder / preset
        workdir.mkdir()
        request = ClipRequest(
            prompt="a cat", seed=1, duration_seconds=5.0, first_frame=first, last_frame=last
        )
        warm_pipeline(backend)  # loaded before timing, as the defaults' pipeline was
        chosen, settings.GPU_STEPS = settings.GPU_STEPS, 2
        backend.render(request, workdir=workdir, progress=lambda stage, fraction: None)
        settings.GPU_STEPS = chosen
        started = time.perf_counter()
        clip = backend.render(request, workdir=workdir, progress=lambda stage, fraction: None)
        seconds = time.perf_counter() - started
        line = (
            f"ours, {preset} preset ({clip.metadata['steps']} steps): {seconds:7.2f} s   "
            f"defaults / ours = {default_seconds / seconds:.2f}×"
        )
        if preset == "quality":
            # Both through the same H.264 encoding, so only the pictures' own drift counts.
            reference = folder / "defaults.mp4"
            encode(default_frames, fps=backend.fps, path=reference)
            drift = psnr(
                frames_of(clip.video_path, width, height), frames_of(reference, width, height)
            )
            line += f"   PSNR against the defaults {drift:.1f} dB (numerical drift only)"
        print(line)


if __name__ == "__main__":
    main()
