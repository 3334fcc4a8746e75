"""Tiny random-weight diffusers pipelines for the GPU backends' tests, built offline.

Their shapes are diffusers' own test configs (tests/pipelines/wan/test_wan_image_to_video.py,
the FLF2V variant; tests/pipelines/ltx/test_ltx_condition.py). Those load a tiny T5 tokenizer
from the Hub; here the tokenizer is a word-level one built in code, so nothing is downloaded.
Each pipeline is written with ``save_pretrained`` and the backends load it through the very
code that loads real weights (``from_pretrained`` on a local folder).
"""

from __future__ import annotations

from pathlib import Path


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = [
        "a",
        "the",
        "cat",
        "map",
        "harbour",
        "pilot",
        "station",
        "floats",
        "through",
        "eileen",
        "chelsea",
    ]
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: 3 + i for i, w in enumerate(words)}}
    model = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    model.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=model, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def _text_encoder(umt5: bool):
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    config = (UMT5Config if umt5 else T5Config)(
        vocab_size=32, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8,
    )  # fmt: skip
    # eval(): a model built directly is in training mode, with dropout on.
    return (UMT5EncoderModel(config) if umt5 else T5EncoderModel(config)).eval()


def build_tiny_wan(folder: Path) -> Path:
    """A tiny Wan first-last-frame pipeline (``WanImageToVideoPipeline``) saved in ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    pipeline = WanImageToVideoPipeline(
        vae=AutoencoderKLWan(
            base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
            temperal_downsample=[False, True, True],
        ),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        text_encoder=_text_encoder(umt5=True),
        tokenizer=_tokenizer(),
        transformer=WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
            out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
            cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
            image_dim=4, pos_embed_seq_len=2 * (4 * 4 + 1),
        ),
        image_encoder=CLIPVisionModel(
            CLIPVisionConfig(
                hidden_size=4, num_hidden_layers=2, num_attention_heads=2,
                image_size=4, intermediate_size=16, patch_size=1,
            )
        ),
        image_processor=CLIPImageProcessor(crop_size=4, size=4),
        transformer_2=None,
    )  # fmt: skip
    pipeline.save_pretrained(folder)
    return folder


def build_tiny_ltx(folder: Path) -> Path:
    """A tiny LTX-Video condition pipeline (``LTXConditionPipeline``) saved in ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False,) * 5, upsample_residual=(False,) * 4,
        upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )  # fmt: skip
    pipeline = LTXConditionPipeline(
        transformer=LTXVideoTransformer3DModel(
            in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
            attention_head_dim=8, cross_attention_dim=32, num_layers=1, caption_channels=32,
        ),
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=_text_encoder(umt5=False),
        tokenizer=_tokenizer(),
    )  # fmt: skip
    pipeline.save_pretrained(folder)
    return folder


def _qwen_tokenizer():
    """A byte-level Qwen2 tokenizer made in code (one token per byte, no merges) with a chat
    template, as FLUX.2 [klein]'s prompt encoding asks of it."""
    from tokenizers import pre_tokenizers
    from transformers import Qwen2TokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|endoftext|>": 0, **{c: i + 1 for i, c in enumerate(alphabet)}}
    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return Qwen2TokenizerFast(vocab=vocab, merges=[], chat_template=template)


def build_tiny_flux2_klein(folder: Path) -> Path:
    """A tiny FLUX.2 [klein] keyframe pipeline (``Flux2KleinPipeline``) saved in ``folder``:
    diffusers' test shapes, with a 28-layer text encoder so the pipeline's own prompt layers
    (9, 18, 27) exist."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = _qwen_tokenizer()
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            intermediate_size=16, hidden_size=16, num_hidden_layers=28, num_attention_heads=2,
            num_key_value_heads=2, vocab_size=len(tokenizer) + 8, max_position_embeddings=600,
            head_dim=8,
        )
    ).eval()  # fmt: skip
    pipeline = Flux2KleinPipeline(
        transformer=Flux2Transformer2DModel(
            patch_size=1, in_channels=4, num_layers=1, num_single_layers=1,
            attention_head_dim=16, num_attention_heads=2, joint_attention_dim=3 * 16,
            timestep_guidance_channels=256, axes_dims_rope=[4, 4, 4, 4], guidance_embeds=False,
        ),
        vae=AutoencoderKLFlux2(
            sample_size=32, in_channels=3, out_channels=3,
            down_block_types=("DownEncoderBlock2D",), up_block_types=("UpDecoderBlock2D",),
            block_out_channels=(4,), layers_per_block=1, latent_channels=1, norm_num_groups=1,
            use_quant_conv=False, use_post_quant_conv=False,
        ),
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        is_distilled=True,
    )  # fmt: skip
    pipeline.save_pretrained(folder)
    return folder
