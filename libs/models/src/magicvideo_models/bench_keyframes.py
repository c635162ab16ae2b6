"""The key-frame stage in PyTorch eager: the reference the runtime benchmark compares against.

`apps/cli/src/bench/bench-pipeline.ts` runs the key-frame stage of a model folder in
onnxruntime-node and this same stage here, interleaved, and prints the ratio. To compare like
with like, this script runs exactly what the folder's ONNX files compute:

- the weights: `model_set.build_models(config, seed)` (each model seeded by `model_seed`, as
  `export_model_folder` builds them), rounded to float16 as the exporter stores them
  (`weight_storage.with_float16_representable_parameters`), computed in float32;
- the text: the folder's tokenizer.json, the text encoder on the batch [negative, prompt];
- the sampling: `sampling.sample` (the reference sampler the runtime equals) with the folder's
  scheduler config, CFG as one batch-2 U-Net call per step, the U-Net a PyTorch module under
  `torch.inference_mode`, `torch.set_num_threads(threads)` = onnxruntime's intra-op threads.

Output is JSON lines on stdout: after an untimed warm-up forward of each model, one `setup`
record (config, FLOPs per U-Net call at batch 1 and 2, counted by `info.count_flops`), then one
`run` record per repetition (seconds per stage, U-Net calls and seconds, a digest of the latents
so the caller can check both runtimes sampled the same thing). With `--on-request` a run starts
for each line read from stdin, until EOF, so the caller can interleave runs with its own.

    python -m magicvideo_models.bench_keyframes --models .cache/models/magicvideo-small \\
        --seed 0 --steps 10 --threads 2 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from magicvideo_models import keyframe_unet
from magicvideo_models import text_encoder as text_encoder_model
from magicvideo_models.contract import MANIFEST_FILE
from magicvideo_models.info import count_flops
from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_set import ModelSetConfig, build_models
from magicvideo_models.sampling import SAMPLER_NAMES, SamplerName, sample
from magicvideo_models.weight_storage import with_float16_representable_parameters

# Latent values echoed in each run record, to compare with the other runtime's first values.
LATENTS_HEAD = 16


@dataclass(frozen=True)
class KeyframeRequest:
    prompt: str
    negative_prompt: str
    seed: int  # the sampling seed (noise streams), not the weights' seed
    steps: int
    guidance_scale: float
    sampler: SamplerName
    fps: float


@dataclass(frozen=True)
class KeyframeRun:
    text_seconds: float
    keyframes_seconds: float
    unet_seconds: float
    unet_calls: int
    unet_batch: int
    latents_head: list[float]  # the first LATENTS_HEAD values of [1, C, F, h, w], row-major
    latents_rms: float

    @property
    def seconds_per_unet_call(self) -> float:
        return self.unet_seconds / self.unet_calls

    def record(self) -> dict[str, Any]:
        return {"kind": "run", **asdict(self), "seconds_per_unet_call": self.seconds_per_unet_call}


class KeyframeBench:
    """The text encoder and key-frame U-Net of one model folder, rebuilt in PyTorch."""

    def __init__(self, models: Path, weights_seed: int) -> None:
        self.manifest = json.loads((models / MANIFEST_FILE).read_text())
        self.config = ModelSetConfig.by_name(self.manifest["config_name"])
        built = {model.name: model.module for model in build_models(self.config, weights_seed).models}
        self.text_encoder = with_float16_representable_parameters(built["text_encoder"]).eval()
        self.unet = with_float16_representable_parameters(built["unet"]).eval()
        self.tokenizer = Tokenizer.from_file(str(models / "tokenizer" / "tokenizer.json"))
        scale = self.manifest["vae_scale_factor"]
        size = self.manifest["sample_size"]
        self.shape = (
            1,
            self.manifest["latent_channels"],
            self.manifest["frames"],
            size["height"] // scale,
            size["width"] // scale,
        )

    def unet_flops(self, batch_size: int) -> int:
        """FLOPs of one U-Net forward at `batch_size` (matmuls and convolutions, as info.py counts)."""
        unet_config = self.config.keyframe_unet
        with torch.device("meta"):
            meta_unet = KeyframeUNet(unet_config).eval()
        return count_flops(meta_unet, keyframe_unet.example_inputs(unet_config, batch_size))

    def warm_up(self) -> None:
        """One text-encoder and one batch-2 U-Net forward, untimed: the first timed run then pays
        no one-time costs (oneDNN kernel creation, allocator growth), as the onnxruntime side,
        whose sessions have run before its timed runs, pays none either."""
        with torch.inference_mode():
            self.text_encoder(text_encoder_model.example_inputs(self.config.text_encoder, 2)["input_ids"])
            self.unet(**keyframe_unet.example_inputs(self.config.keyframe_unet, 2))

    def run(self, request: KeyframeRequest) -> KeyframeRun:
        with torch.inference_mode():
            started = time.perf_counter()
            ids = [e.ids for e in self.tokenizer.encode_batch([request.negative_prompt, request.prompt])]
            hidden = self.text_encoder(torch.tensor(ids, dtype=torch.int64))
            uncond, cond = hidden[:1], hidden[1:]
            text_done = time.perf_counter()

            unet_seconds = 0.0
            unet_calls = 0
            unet_batch = 0

            def timed_unet(**inputs: torch.Tensor) -> torch.Tensor:
                nonlocal unet_seconds, unet_calls, unet_batch
                call_started = time.perf_counter()
                output = self.unet(**inputs)
                unet_seconds += time.perf_counter() - call_started
                unet_calls += 1
                unet_batch = int(inputs["sample"].shape[0])
                return output

            latents = sample(
                timed_unet,
                {"encoder_hidden_states": cond},
                {"encoder_hidden_states": uncond},
                sampler=request.sampler,
                steps=request.steps,
                guidance_scale=request.guidance_scale,
                seed=request.seed,
                shape=self.shape,
                scheduler_config=self.manifest["schedulers"]["unet"],
                shared={"fps": torch.tensor([request.fps], dtype=torch.float32)},
            )
            finished = time.perf_counter()
        values = latents.numpy().astype(np.float64).ravel()
        return KeyframeRun(
            text_seconds=text_done - started,
            keyframes_seconds=finished - text_done,
            unet_seconds=unet_seconds,
            unet_calls=unet_calls,
            unet_batch=unet_batch,
            latents_head=[float(v) for v in values[:LATENTS_HEAD]],
            latents_rms=float(np.sqrt(np.mean(values**2))),
        )


def setup_record(bench: KeyframeBench, request: KeyframeRequest, threads: int, weights_seed: int) -> dict:
    return {
        "kind": "setup",
        "config": bench.config.name,
        "weights_seed": weights_seed,
        "request": asdict(request),
        "latent_shape": list(bench.shape),
        "threads": threads,
        "torch_version": torch.__version__,
        "unet_flops_per_call": {"1": bench.unet_flops(1), "2": bench.unet_flops(2)},
    }


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", type=Path, required=True, help="model folder (its manifest names the config)"
    )
    parser.add_argument("--weights-seed", type=int, default=0, help="the seed the folder was exported with")
    parser.add_argument("--prompt", default="a red circle moving right")
    parser.add_argument("--negative-prompt", default="")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--steps", type=int, help="default: the manifest's")
    parser.add_argument("--guidance-scale", type=float, help="default: the manifest's")
    parser.add_argument("--sampler", choices=SAMPLER_NAMES, help="default: the manifest's")
    parser.add_argument("--fps", type=float, help="default: the manifest's")
    parser.add_argument("--threads", type=int, required=True, help="torch threads (= onnxruntime intra-op)")
    parser.add_argument("--repeats", type=int, default=1, help="runs, without --on-request")
    parser.add_argument(
        "--on-request", action="store_true", help="one run per line read from stdin, until EOF"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    bench = KeyframeBench(args.models, args.weights_seed)
    defaults = bench.manifest["defaults"]
    request = KeyframeRequest(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        seed=args.seed,
        steps=args.steps if args.steps is not None else defaults["num_inference_steps"],
        guidance_scale=args.guidance_scale if args.guidance_scale is not None else defaults["guidance_scale"],
        sampler=args.sampler or defaults["sampler"],
        fps=args.fps if args.fps is not None else bench.manifest["fps"]["default"],
    )
    bench.warm_up()
    _emit(setup_record(bench, request, args.threads, args.weights_seed))
    if args.on_request:
        for _line in sys.stdin:
            _emit(bench.run(request).record())
    else:
        for _ in range(args.repeats):
            _emit(bench.run(request).record())


if __name__ == "__main__":
    main()
