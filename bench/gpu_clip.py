"""Benchmark: one GPU clip per preset (generation/gpu/render.py, the worker's own code) side by
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

"diffusers' defaults": ``WanImageToVideoPipeline.from_pretrained(folder, dtype=bf16)`` (as its
Wan example loads it; float32 on a CPU), the default attention, no compile, no cache, called
with 50 steps and guidance 5.0. Ours: the worker's render path (``GpuClipBackend.render``)
with ``GPU_PRESET`` quality, first without the first-block cache (the speed-ups that leave
the output as it was: bf16, the attention kernel, regional compile) and then with it, then
with FP8 as well where the card has FP8 tensor cores and torchao is installed, and draft.
Each side prints seconds per clip and per step, and its peak GPU memory.

Run: .venv/bin/python bench/gpu_clip.py [--tiny] [--layers N] [--size WxH] [--device cuda]
     [--keep FOLDER]  (keeps the random weights there, for bench/gpu_dream.py)
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


def build_full_wan(folder: Path, layers: int, device: str) -> Path:
    """The Wan FLF2V pipeline shape at 1.3B width with random weights, saved in ``folder``
    in bf16 (initialised on ``device``: a GPU makes up 2 billion random numbers in seconds)."""
    import torch

    torch.manual_seed(0)
    with torch.device(device):
        pipeline = _full_wan(layers)
    pipeline.to(torch.bfloat16).save_pretrained(folder)
    return folder


def _full_wan(layers: int):
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

    return WanImageToVideoPipeline(
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


def side(name: str, seconds: float, steps: int, default_seconds: float | None) -> str:
    """One side's line: seconds per clip and per step, peak GPU memory, ratio to defaults."""
    import torch

    line = f"{name:<44} {seconds:8.2f} s  {seconds / steps:6.3f} s/step"
    if torch.cuda.is_available():
        line += f"  peak {torch.cuda.max_memory_allocated() / 2**30:5.1f} GiB"
        torch.cuda.reset_peak_memory_stats()
    if default_seconds:
        line += f"  defaults / this = {default_seconds / seconds:.2f}x"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--size", default="")
    parser.add_argument("--device", default="")
    parser.add_argument("--keep", type=Path, help="save the random weights here and keep them")
    options = parser.parse_args()
    device = options.device or ("cpu" if options.tiny else "cuda")
    size = options.size or ("32x32" if options.tiny else "832x480")
    folder = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    weights = options.keep or folder / "wan"
    os.environ.update(
        {"WAN_WEIGHTS": str(weights), "WAN_SIZE": size, "GPU_DEVICE": device,
         "CLIP_BACKENDS": "wan-flf2v"}
    )  # fmt: skip
    import django

    django.setup()
    import torch
    from diffusers import WanImageToVideoPipeline
    from django.conf import settings
    from PIL import Image, ImageOps

    from generation.gpu.backends import WanBackend
    from generation.gpu.pipelines import forget_pipelines, warm_pipeline
    from generation.gpu.render import encode_video
    from generation.gpu.speed import fp8_wanted
    from generation.video import ClipRequest
    from tests.gpu_models import build_tiny_wan

    started = time.perf_counter()
    if options.tiny:
        build_tiny_wan(weights)
    else:
        build_full_wan(weights, options.layers, device)
    built = time.perf_counter() - started
    backend = WanBackend()
    width, height = backend.size
    frames = backend.frame_count(5.0)
    shape = (
        "tiny test shapes" if options.tiny else f"Wan FLF2V, 1.3B width, {options.layers} blocks"
    )
    print(f"{shape}; {width}x{height}, {frames} frames; device {device}; built in {built:.1f} s")
    if device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name(device)}; torch {torch.__version__}")

    first, last = PHOTOS / "astronaut.png", PHOTOS / "chelsea.png"
    fitted = [
        ImageOps.fit(Image.open(p).convert("RGB"), (width, height), Image.Resampling.LANCZOS)
        for p in (first, last)
    ]  # as the worker fits them, so only numerics differ
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32

    # diffusers' defaults, as its Wan example runs them: the weights in bf16 (float32 on a
    # CPU), the default attention, no compile, no cache; 50 steps, guidance 5.0.
    steps = settings.GPU_STEPS or 50
    pipeline = WanImageToVideoPipeline.from_pretrained(weights, dtype=dtype).to(device)
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
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    output = defaults(pipeline, steps)
    default_seconds = time.perf_counter() - started
    default_frames = (np.clip(output.frames[0], 0, 1) * 255).round().astype(np.uint8)
    del pipeline, output
    print()
    print(side(f"diffusers' defaults, {steps} steps", default_seconds, steps, None), flush=True)
    reference = folder / "defaults.mp4"
    # Both through the same H.264 encoding, so only the pictures' own drift counts.
    encode_video(default_frames, fps=backend.fps, path=reference)

    # The cache is off by default; its side is measured at diffusers' default threshold.
    cache = settings.GPU_FIRST_BLOCK_CACHE or 0.05
    settings.GPU_FP8 = "auto"
    fp8 = fp8_wanted(device)  # an FP8 side where this card and torchao can run it
    sides = [("quality", 0.0, "off")]
    sides += [("quality", cache, "off")] if cache else []
    sides += [("quality", cache, "on")] if fp8 else []
    sides += [("draft", cache, "off")]
    loaded = None
    for preset, threshold, fp8_mode in sides:
        settings.GPU_PRESET, settings.GPU_FIRST_BLOCK_CACHE = preset, threshold
        settings.GPU_FP8 = fp8_mode
        if loaded != (threshold, fp8_mode) or preset == "quality":
            forget_pipelines()  # the speed-ups apply when a pipeline loads
        loaded = (threshold, fp8_mode)
        workdir = folder / f"{preset}-{threshold:g}-{fp8_mode}"
        workdir.mkdir()
        request = ClipRequest(
            prompt="a cat", seed=1, duration_seconds=5.0, first_frame=first, last_frame=last
        )
        chosen = settings.GPU_STEPS
        try:
            warm_pipeline(backend)  # loaded before timing, as the defaults' pipeline was
            settings.GPU_STEPS = 2
            backend.render(request, workdir=workdir, progress=lambda stage, fraction: None)
            settings.GPU_STEPS = chosen
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            started = time.perf_counter()
            clip = backend.render(request, workdir=workdir, progress=lambda stage, f: None)
            seconds = time.perf_counter() - started
        except Exception as error:  # one side failing still leaves the others' figures
            settings.GPU_STEPS = chosen
            print(f"{preset}, cache {threshold:g}: failed: {error!r}"[:2000], flush=True)
            continue
        name = f"ours, {preset}, {clip.metadata['steps']} steps"
        name += f", cache {threshold:g}" if threshold else ", no cache"
        name += ", fp8" if fp8_mode == "on" else ""
        line = side(name, seconds, clip.metadata["steps"], default_seconds)
        if preset == "quality":
            try:
                drift = psnr(
                    frames_of(clip.video_path, width, height), frames_of(reference, width, height)
                )
                line += f"  PSNR vs defaults {drift:.1f} dB"
            except (ValueError, subprocess.CalledProcessError) as error:
                line += f"  PSNR unavailable ({error})"
        print(line, flush=True)
        print(f"    speed-ups: {', '.join(clip.metadata['speed_ups'])}", flush=True)
    print("\n(Random weights: the PSNR measures numerical drift, not picture quality.)")


if __name__ == "__main__":
    main()
