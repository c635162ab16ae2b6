"""GPU sizing of the four stage workers for the `base` model set: COMPUTED, not measured.

    .venv/bin/python deploy/sizing/base_sizing.py            # prints the table of docs/deploy.md
    .venv/bin/python deploy/sizing/base_sizing.py --write    # and rewrites deploy/sizing/base-sizing.json

For each stage, every model call one video makes with the serving defaults (the manifest's
steps, classifier-free guidance, the stage functions' batching, chunking and tiling in
libs/diffusion) is counted with `magicvideo_models.info.count_flops` on the meta device
(matmuls and convolutions, multiply-adds x 2), at the exact shape of that call. Time = FLOPs /
an ASSUMED sustained throughput per GPU class (below). GPU memory = the stage's resident
weights (float32: the exported float16 weights are cast to float32 when the session is built,
so models compute in float32) + the peak of live activations of the stage's most
memory-hungry call, traced on the meta device (every tensor an op creates counts until Python
frees it; eager PyTorch with attention's math decomposition, so an upper bound for
onnxruntime's fused kernels) + a fixed allowance for the CUDA context and onnxruntime's arena.

No GPU was available where this was written: nothing here was measured on one.
"""

from __future__ import annotations

import argparse
import json
import math
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from magicvideo_models import image_encoder, interp_unet, keyframe_unet, sr_unet, text_encoder, video_vae
from magicvideo_models.info import count_flops
from magicvideo_models.model_set import ModelSetConfig, build_models
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

# Assumed sustained throughput of float32 models under onnxruntime's CUDA provider, which lets
# cuBLAS and cuDNN use TF32 tensor cores (its `use_tf32` option, on by default): about 40% of
# the dense TF32 peak (H100 SXM 495 TFLOP/s, A10 62.5). Assumptions, to be replaced by measurements.
GPU_CLASSES = {"H100": 200e12, "A10": 25e12}
# CUDA context, cuDNN/cuBLAS workspaces and onnxruntime's arena slack.
RUNTIME_OVERHEAD_BYTES = int(1.5 * 2**30)

# The serving defaults this counts (libs/diffusion): the decode chunk (DEFAULT_DECODE_CHUNK_FRAMES),
# SR's frames per call and tile core (DEFAULT_SR_FRAME_BATCH, DEFAULT_SR_TILE_SIZE); interpolation
# runs all neighbour pairs in one call (pairBatch = pairs).
DECODE_CHUNK_FRAMES = 16
SR_FRAME_BATCH = 4
SR_TILE_CORE = 512


@dataclass(frozen=True)
class Call:
    """One kind of model call of a stage: `count` calls at batch `batch` of `inputs`."""

    model: str
    count: int
    inputs: dict[str, torch.Tensor]
    flops: int


class LiveActivations(TorchDispatchMode):
    """Peak bytes of tensors alive at once during a forward (meta tensors: shapes only)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0

    def _free(self, size: int) -> None:
        self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        out = func(*args, **(kwargs or {}))
        inputs = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        for tensor in tree_flatten(out)[0]:
            # views and in-place results share an input's storage: no new memory
            if not isinstance(tensor, torch.Tensor) or tensor._is_view() or any(tensor is a for a in inputs):
                continue
            size = tensor.numel() * tensor.element_size()
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(tensor, self._free, size)
        return out


def peak_activation_bytes(module: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    meta_inputs = [tensor.to("meta") for tensor in inputs.values()]
    tracker = LiveActivations()
    with torch.no_grad(), tracker:
        module(*meta_inputs)
    return tracker.peak


def stage_calls(config: ModelSetConfig, modules: dict[str, torch.nn.Module]) -> dict[str, list[Call]]:
    d = config.defaults
    frames = config.frames
    pairs = frames - 1
    context = config.vae.decoder_context_frames

    def call(model: str, count: int, inputs: dict[str, torch.Tensor]) -> Call:
        return Call(model, count, inputs, count_flops(modules[model], inputs))

    def decode_calls(frame_count: int) -> list[Call]:
        calls: list[Call] = []
        for start in range(0, frame_count, DECODE_CHUNK_FRAMES):
            fed = min(frame_count, start + DECODE_CHUNK_FRAMES) - max(0, start - context)
            calls.append(call("vae_decoder", 1, video_vae.example_inputs(config.vae, 1, num_frames=fed)))
        return calls

    sr_size = config.sr_size
    halo = (
        math.ceil(sr_unet.receptive_field_radius(config.sr_unet) / config.sr_unet.size_multiple)
        * config.sr_unet.size_multiple
    )
    tiles_per_side = math.ceil(sr_size / SR_TILE_CORE)
    tile = min(sr_size, SR_TILE_CORE + halo)  # a corner tile; every tile of a 2x2 plan is core + one halo
    sr_tile_config = replace(config.sr_unet, sample_size=tile)
    sr_runs = math.ceil(config.interp_frames / SR_FRAME_BATCH) * d.sr_num_inference_steps * tiles_per_side**2
    return {
        # one [uncond, cond] text call; each step one U-Net call at batch 2 (classifier-free guidance)
        "keyframe": [
            call("text_encoder", 1, text_encoder.example_inputs(config.text_encoder, 2)),
            call("unet", d.num_inference_steps, keyframe_unet.example_inputs(config.keyframe_unet, 2)),
        ],
        # key frames decoded for the image encoder, their embeddings, then every pair per step, no guidance
        "interp": [
            *decode_calls(frames),
            call("image_encoder", 1, image_encoder.example_inputs(config.image_encoder, frames)),
            call(
                "interp_unet",
                d.interp_num_inference_steps,
                interp_unet.example_inputs(config.interp_unet, pairs),
            ),
        ],
        "decode": decode_calls(config.interp_frames),
        # every frame, per step, in tiles of core + halo, SR_FRAME_BATCH frames per call, no guidance
        "sr": [call("sr_unet", sr_runs, sr_unet.example_inputs(sr_tile_config, SR_FRAME_BATCH))],
    }


# The models a stage's worker holds in memory (apps/worker-*/src/main.ts; the text encoder is
# opened with every folder, the key-frame worker adds the VAE encoder for image-to-video).
RESIDENT = {
    "keyframe": ["text_encoder", "unet", "vae_encoder"],
    "interp": ["text_encoder", "vae_decoder", "image_encoder", "interp_unet"],
    "decode": ["text_encoder", "vae_decoder"],
    "sr": ["text_encoder", "sr_unet"],
}


def sizing() -> dict:
    config = ModelSetConfig.base()
    with torch.device("meta"):
        built = build_models(config)
    modules = {model.name: model.module for model in built.models}
    parameters = {name: sum(p.numel() for p in module.parameters()) for name, module in modules.items()}
    calls = stage_calls(config, modules)
    stages = {}
    for stage, stage_calls_ in calls.items():
        flops = sum(c.flops * c.count for c in stage_calls_)
        weights = sum(parameters[name] for name in RESIDENT[stage]) * 4
        peaks = [(peak_activation_bytes(modules[c.model], c.inputs), c) for c in stage_calls_]
        activations, largest = max(peaks, key=lambda peak: peak[0])
        counts: dict[str, int] = {}
        for c in stage_calls_:
            counts[c.model] = counts.get(c.model, 0) + c.count
        stages[stage] = {
            "tflops": round(flops / 1e12, 1),
            "seconds": {gpu: round(flops / rate, 1) for gpu, rate in GPU_CLASSES.items()},
            "weights_gib": round(weights / 2**30, 2),
            "peak_activations_gib": round(activations / 2**30, 2),
            "gpu_memory_gib": round((weights + activations + RUNTIME_OVERHEAD_BYTES) / 2**30, 1),
            "largest_call": f"{largest.model} "
            + " ".join(f"{k}{list(v.shape)}" for k, v in largest.inputs.items() if v.dim() > 1),
            "calls": counts,
        }
    return {
        "config": "base",
        "computed_not_measured": True,
        "assumed_sustained_flops": GPU_CLASSES,
        "defaults": {
            "num_inference_steps": config.defaults.num_inference_steps,
            "interp_num_inference_steps": config.defaults.interp_num_inference_steps,
            "sr_num_inference_steps": config.defaults.sr_num_inference_steps,
            "frames": config.frames,
            "interp_frames": config.interp_frames,
            "output": f"{config.sr_size}x{config.sr_size}",
        },
        "stages": stages,
    }


def markdown(result: dict) -> str:
    gpus = list(result["assumed_sustained_flops"])
    header = [
        "stage",
        "TFLOP / video",
        *(f"time on {g} (s)" for g in gpus),
        "weights (GiB)",
        "peak activations (GiB)",
        "GPU memory (GiB)",
    ]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for stage, s in result["stages"].items():
        cells = [
            stage,
            f"{s['tflops']:,}",
            *(f"{s['seconds'][g]:,}" for g in gpus),
            f"{s['weights_gib']}",
            f"{s['peak_activations_gib']}",
            f"{s['gpu_memory_gib']}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite deploy/sizing/base-sizing.json")
    args = parser.parse_args()
    result = sizing()
    print(markdown(result))
    for stage, s in result["stages"].items():
        print(f"{stage}: largest call {s['largest_call']}; calls {s['calls']}")
    if args.write:
        out = Path(__file__).with_name("base-sizing.json")
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
