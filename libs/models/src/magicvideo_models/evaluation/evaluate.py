"""Evaluate a model folder on MagicVideo Shapes and print the table (DESIGN.md §7, paper §4.1).

``python -m magicvideo_models.evaluation.evaluate --models DIR [--clips-per-split 200] [--steps N]
[--sampler ddim] [--guidance X] [--seed S] [--out report.json] [--markdown report.md]
[--via python|cli]``

What it measures, each in its own module, all through onnxruntime on the folder's ONNX files:
- judge: the judge on real rendered clips (must be ≥ 98%) and against random captions (chance);
- faithfulness: colour, shape, motion and all three on seen (val) and held-out combinations,
  clips sampled with the Python reference sampler (key frames, decoded) or, with
  ``--via cli``, the TypeScript CLI's final frames; beside them the judge on the VideoVAE's
  reconstructions of the real clips, the ceiling for any model of this VAE's latents;
- smoothness: the judge's flicker and motion-irregularity measures beside the real clips';
- speed: Spearman's ρ of measured speed against the training speed at the FPS condition ν;
- vae: VideoVAE against per-frame decoding, flicker and PSNR;
- interpolation: the interpolation U-Net against linear latent blending, PSNR of middle frames on
  the whole frame and over the moving object's region (where blending and interpolation differ);
- sr: super-resolution against bicubic, PSNR against the true high-resolution frames;
- cli: ``magicvideo generate`` for a seen and a held-out caption over ``--cli-seeds`` seeds.

Progress goes to stderr; the table to stdout; ``--out`` writes every figure and per-clip verdict
as JSON, ``--markdown`` the model card's section.

Cost on the tiny folder, 2 shared CPU cores: a faithfulness or speed clip takes about
0.1 s per key-frame step plus 0.5 s (25 steps: about 3 s, so the default 2 × 200 clips about
20 minutes); a VAE or interpolation clip about 6 s; a CLI run with the default SR about 40 s
(the default 2 × 10 about 13 minutes). ``--via cli`` makes every faithfulness and speed clip a
CLI run. ``--skip SECTION`` and the count flags trade figures for time.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from magicvideo_models.evaluation import faithfulness, smoothness_speed
from magicvideo_models.evaluation.cli_check import (
    HELDOUT_CAPTION,
    SEEN_CAPTION,
    CliOptions,
    cli_check,
    cli_generator,
    cli_rows,
)
from magicvideo_models.evaluation.faithfulness import SPLITS, ClipGenerator, JudgedClip
from magicvideo_models.evaluation.interpolation_quality import (
    decoded_truth_rows,
    evaluate_interpolation,
    flicker_rows,
    interpolation_rows,
    object_region_rows,
)
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, ResolvedSettings, SamplingSettings
from magicvideo_models.evaluation.report import ReportRow, format_table, markdown_report
from magicvideo_models.evaluation.sr_quality import evaluate_sr, sr_rows
from magicvideo_models.evaluation.vae_flicker import evaluate_vae_flicker, vae_rows
from magicvideo_models.sampling import SAMPLER_NAMES
from magicvideo_models.shapes.clips import sample_clip

SECTIONS = ("faithfulness", "speed", "vae", "interpolation", "sr", "cli")
T = TypeVar("T")


@dataclass(frozen=True)
class EvaluationConfig:
    models: Path
    clips_per_split: int = 200
    sampling: SamplingSettings = SamplingSettings()
    seed: int = 0  # sampling seeds: seed, seed + 1, … per clip
    data_seed: int = 0  # which val and heldout clips (training uses the same data seed, other streams)
    via: str = "python"
    speed_seeds: int = 2  # seeds per caption and ν in the speed sweep
    speed_fps: tuple[float, ...] = smoothness_speed.SPEED_FPS_GRID
    quality_clips: int = 32  # true clips for the VAE, interpolation and SR comparisons
    sr_frames_per_clip: int = 1
    latent_noise: float = 0.1
    cli_seeds: int = 10
    skip: tuple[str, ...] = ()
    threads: int | None = None


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def python_generator(folder: OnnxModelFolder, settings: ResolvedSettings) -> ClipGenerator:
    """The Python reference sampler's key frames, decoded: frames uint8 [F, H, W, 3]."""

    def generate(caption: str, seed: int, fps: float) -> np.ndarray:
        return folder.decode(folder.keyframe_latents(caption, seed=seed, fps=fps, settings=settings))

    return generate


def _clip_record(clip: JudgedClip, generated: bool) -> dict[str, Any]:
    verdict = clip.verdict
    return {
        "split": clip.split,
        "index": clip.index,
        "caption": clip.caption,
        "seed": clip.seed if generated else None,
        "fps": clip.fps,
        "asked": asdict(clip.asked),
        "judged": {"colour": verdict.colour, "shape": verdict.shape, "motion": verdict.motion},
        "speed": verdict.speed,
        "right": asdict(clip.match) | {"all_three": clip.match.all_three},
    }


def evaluate(config: EvaluationConfig, progress: Callable[[str], None] = log) -> dict[str, Any]:
    """Run every section not skipped; returns {"settings", "rows", "results", "seconds"}."""
    folder = OnnxModelFolder.open(config.models, threads=config.threads)
    settings = config.sampling.resolved(folder.manifest)
    resolution = int(folder.manifest["sample_size"]["height"])
    rows: list[ReportRow] = []
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}

    def timed(section: str, run: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = run()
        seconds[section] = round(time.perf_counter() - started, 1)
        progress(f"{section}: done in {seconds[section]} s")
        return value

    generate = (
        python_generator(folder, settings)
        if config.via == "python"
        else cli_generator(config.models, _cli_options(settings, config))
    )

    for split in SPLITS:
        real = faithfulness.judge_real(
            split, config.clips_per_split, data_seed=config.data_seed, resolution=resolution
        )
        random_captions = faithfulness.random_caption_matches(real, caption_seed=config.data_seed)
        rows += faithfulness.judge_rows(
            split,
            faithfulness.scores(real),
            faithfulness.FaithfulnessScores.of(random_captions, [clip.verdict for clip in real]),
        )
        results.setdefault("judge", {})[split] = asdict(faithfulness.scores(real))
        if "faithfulness" in config.skip:
            continue
        judged = timed(
            f"faithfulness {split}",
            lambda split=split: faithfulness.judge_generated(
                generate,
                split,
                config.clips_per_split,
                data_seed=config.data_seed,
                seed=config.seed,
                resolution=resolution,
                progress=progress,
            ),
        )
        scores = faithfulness.scores(judged)
        rows += faithfulness.faithfulness_rows(split, scores, label=f" ({config.via})")
        reconstructed = timed(
            f"reconstructions {split}",
            lambda split=split: faithfulness.judge_real(
                split,
                config.clips_per_split,
                data_seed=config.data_seed,
                resolution=resolution,
                transform=folder.reconstruct,
            ),
        )
        rows += faithfulness.reconstruction_rows(split, faithfulness.scores(reconstructed))
        generated_smoothness = smoothness_speed.Smoothness.of([clip.verdict for clip in judged])
        real_smoothness = smoothness_speed.Smoothness.of([clip.verdict for clip in real])
        rows += smoothness_speed.smoothness_rows(split, generated_smoothness, real_smoothness)
        results.setdefault("faithfulness", {})[split] = {
            "scores": asdict(scores),
            "smoothness": asdict(generated_smoothness),
            "real_smoothness": asdict(real_smoothness),
            "vae_reconstructions": asdict(faithfulness.scores(reconstructed)),
            "clips": [_clip_record(clip, generated=True) for clip in judged],
        }

    if "speed" not in config.skip:
        generated = timed(
            "speed",
            lambda: smoothness_speed.generated_speed_sweep(
                generate,
                seeds=config.speed_seeds,
                seed=config.seed,
                fps_values=config.speed_fps,
                progress=progress,
            ),
        )
        real = smoothness_speed.real_speed_sweep(
            seeds=config.speed_seeds,
            resolution=resolution,
            data_seed=config.data_seed,
            fps_values=config.speed_fps,
        )
        rows += smoothness_speed.speed_rows(generated, real)
        results["speed"] = {"generated": asdict(generated), "real": asdict(real)}

    quality_clips = [
        sample_clip(config.data_seed, index, "val", resolution=resolution)
        for index in range(config.quality_clips)
    ]
    if "vae" not in config.skip:
        vae = timed(
            "vae",
            lambda: evaluate_vae_flicker(
                folder, quality_clips, latent_noise=config.latent_noise, seed=config.seed, progress=progress
            ),
        )
        rows += vae_rows(vae)
        results["vae"] = asdict(vae)
    if "interpolation" not in config.skip:
        interpolation = timed(
            "interpolation",
            lambda: evaluate_interpolation(
                folder, quality_clips, settings=settings, seed=config.seed, progress=progress
            ),
        )
        rows += (
            interpolation_rows(interpolation)
            + object_region_rows(interpolation)
            + decoded_truth_rows(interpolation)
            + flicker_rows(interpolation)
        )
        results["interpolation"] = asdict(interpolation)
    if "sr" not in config.skip:
        high_resolution = resolution * int(folder.manifest["sr_scale"])
        sr_clips = [
            sample_clip(
                config.data_seed, index, "val", resolution=resolution, high_resolution=high_resolution
            )
            for index in range(config.quality_clips)
        ]
        sr = timed(
            "sr",
            lambda: evaluate_sr(
                folder,
                sr_clips,
                settings=settings,
                seed=config.seed,
                frames_per_clip=config.sr_frames_per_clip,
                progress=progress,
            ),
        )
        rows += sr_rows(sr)
        results["sr"] = asdict(sr)
    if "cli" not in config.skip and config.cli_seeds > 0:
        options = _cli_options(settings, config)
        seeds = range(config.seed, config.seed + config.cli_seeds)
        checks = timed(
            "cli",
            lambda: [
                cli_check(caption, seeds, config.models, options, progress=progress)
                for caption in (SEEN_CAPTION, HELDOUT_CAPTION)
            ],
        )
        rows += cli_rows(checks)
        results["cli"] = [
            {
                "caption": check.caption,
                "seeds": list(check.seeds),
                "matches": check.matches,
                "target": check.target,
                "judged": [f"{v.colour} {v.shape} {v.motion}" for v in check.verdicts],
            }
            for check in checks
        ]

    return {
        "settings": _settings_summary(config, settings),
        "rows": [row.to_dict() for row in _ordered(rows)],
        "results": results,
        "seconds": seconds,
    }


def _cli_options(settings: ResolvedSettings, config: EvaluationConfig) -> CliOptions:
    """The CLI with the same sampling settings as the Python path."""
    return CliOptions(
        steps=settings.steps,
        guidance_scale=settings.guidance_scale,
        sampler=settings.sampler,
        interp_steps=settings.interp_steps,
        sr_steps=settings.sr_steps,
        threads=config.threads,
    )


_SECTION_ORDER = ("judge", "faithfulness", "smoothness", "speed", "vae", "interpolation", "sr", "cli")


def _ordered(rows: Sequence[ReportRow]) -> list[ReportRow]:
    return sorted(rows, key=lambda row: _SECTION_ORDER.index(row.section))


def _settings_summary(config: EvaluationConfig, settings: ResolvedSettings) -> dict[str, Any]:
    return {
        "models": str(config.models),
        "via": config.via,
        "clips per split": config.clips_per_split,
        **{key.replace("_", " "): value for key, value in settings.to_dict().items()},
        "seed": config.seed,
        "data seed": config.data_seed,
        "speed seeds": config.speed_seeds,
        "speed ν": ", ".join(f"{fps:g}" for fps in config.speed_fps),
        "quality clips": config.quality_clips,
        "cli seeds": config.cli_seeds if "cli" not in config.skip else 0,
    }


def json_safe(value: Any) -> Any:
    """The report with NaN as null (JSON has no NaN), tuples as lists."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def rows_of(report: dict[str, Any]) -> list[ReportRow]:
    """The report's rows back as ReportRow (JSON writes NaN as null)."""
    return [
        ReportRow(**(row | {"value": float("nan") if row["value"] is None else row["value"]}))
        for row in report["rows"]
    ]


def parse_arguments(argv: Sequence[str] | None = None) -> tuple[EvaluationConfig, Path | None, Path | None]:
    """(config, JSON report path, markdown path) from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True, help="model folder")
    parser.add_argument("--clips-per-split", type=int, default=200, help="faithfulness clips on each split")
    parser.add_argument("--steps", type=int, help="key-frame steps (manifest default)")
    parser.add_argument("--sampler", choices=SAMPLER_NAMES, help="(manifest default)")
    parser.add_argument("--guidance", type=float, help="guidance scale (manifest default)")
    parser.add_argument("--interp-steps", type=int, help="(manifest default)")
    parser.add_argument("--sr-steps", type=int, help="(manifest default)")
    parser.add_argument("--seed", type=int, default=0, help="first sampling seed")
    parser.add_argument("--data-seed", type=int, default=0, help="which val and heldout clips")
    parser.add_argument(
        "--via", choices=("python", "cli"), default="python", help="faithfulness and speed clips"
    )
    parser.add_argument("--speed-seeds", type=int, default=2, help="seeds per caption and ν")
    parser.add_argument(
        "--speed-fps",
        default=",".join(f"{fps:g}" for fps in smoothness_speed.SPEED_FPS_GRID),
        help="comma-separated ν values of the speed sweep (each a whole window 480/ν)",
    )
    parser.add_argument("--quality-clips", type=int, default=32, help="clips for vae, interpolation, sr")
    parser.add_argument("--sr-frames-per-clip", type=int, default=1)
    parser.add_argument(
        "--latent-noise", type=float, default=0.1, help="noisy-latents std, × the latents' std"
    )
    parser.add_argument("--cli-seeds", type=int, default=10, help="seeds of the CLI check (0: skip)")
    parser.add_argument("--skip", action="append", choices=SECTIONS, default=[], help="repeatable")
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads")
    parser.add_argument("--out", type=Path, help="JSON report")
    parser.add_argument("--markdown", type=Path, help="markdown table for the model card")
    args = parser.parse_args(argv)
    config = EvaluationConfig(
        models=args.models,
        clips_per_split=args.clips_per_split,
        sampling=SamplingSettings(
            steps=args.steps,
            guidance_scale=args.guidance,
            sampler=args.sampler,
            interp_steps=args.interp_steps,
            sr_steps=args.sr_steps,
        ),
        seed=args.seed,
        data_seed=args.data_seed,
        via=args.via,
        speed_seeds=args.speed_seeds,
        speed_fps=tuple(float(fps) for fps in args.speed_fps.split(",")),
        quality_clips=args.quality_clips,
        sr_frames_per_clip=args.sr_frames_per_clip,
        latent_noise=args.latent_noise,
        cli_seeds=args.cli_seeds,
        skip=tuple(args.skip),
        threads=args.threads,
    )
    return config, args.out, args.markdown


def main(argv: Sequence[str] | None = None) -> None:
    config, out, markdown = parse_arguments(argv)
    report = evaluate(config)
    rows = rows_of(report)
    print(format_table(rows))
    if out is not None:
        out.write_text(json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        log(f"wrote {out}")
    if markdown is not None:
        markdown.write_text(markdown_report(rows, report["settings"]), encoding="utf-8")
        log(f"wrote {markdown}")


if __name__ == "__main__":
    main()
