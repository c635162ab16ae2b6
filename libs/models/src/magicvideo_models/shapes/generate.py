"""Write a MagicVideo Shapes split to disk as shards, for training and evaluation.

    python -m magicvideo_models.shapes.generate --split train --count 20000 --out data/shapes
    python -m magicvideo_models.shapes.generate --split heldout --count 512 --out data/shapes \
        --high-resolution 256

Writes OUT/<split>-00000.npz, ... (see shards.py) and OUT/<split>.json describing the run. Clips
are pure functions of (seed, split, index), so an interrupted run resumes by skipping the
shards already written; a rerun with different parameters into the same folder is refused.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from magicvideo_models.shapes.clips import (
    FRAME_COUNT,
    KEYFRAME_COUNT,
    KEYFRAME_RESOLUTION,
    NATIVE_FPS,
    NATIVE_SPEED_RANGE,
    SPLIT_STREAMS,
    WINDOW_LENGTHS,
    sample_clip,
)
from magicvideo_models.shapes.grammar import caption_vocabulary
from magicvideo_models.shapes.heldout import heldout_combinations
from magicvideo_models.shapes.shards import write_shard


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=tuple(SPLIT_STREAMS), required=True)
    parser.add_argument("--count", type=int, required=True, help="number of clips")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-size", type=int, default=256, help="clips per shard")
    parser.add_argument("--resolution", type=int, default=KEYFRAME_RESOLUTION, help="key-frame resolution")
    parser.add_argument(
        "--high-resolution", type=int, default=None, help="also render the 16 key frames at this resolution"
    )
    arguments = parser.parse_args(argv)
    if arguments.count < 1 or arguments.shard_size < 1:
        parser.error("--count and --shard-size must be positive")
    return arguments


def generate_split(
    split: str,
    count: int,
    out: Path,
    seed: int = 0,
    shard_size: int = 256,
    resolution: int = KEYFRAME_RESOLUTION,
    high_resolution: int | None = None,
) -> list[Path]:
    """Write `count` clips of a split as shards under `out`; returns the shard paths."""
    description = {
        "split": split,
        "count": count,
        "seed": seed,
        "shard_size": shard_size,
        "resolution": resolution,
        "high_resolution": high_resolution,
        "native_fps": NATIVE_FPS,
        "keyframe_count": KEYFRAME_COUNT,
        "frame_count": FRAME_COUNT,
        "window_lengths": list(WINDOW_LENGTHS),
        "native_speed_range": list(NATIVE_SPEED_RANGE),
        "heldout": sorted(f"{a.colour}, {a.shape}, {a.motion}" for a in heldout_combinations()),
        "vocabulary": sorted(caption_vocabulary()),
    }
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / f"{split}.json"
    if manifest.exists():
        previous = json.loads(manifest.read_text(encoding="utf-8"))
        previous.pop("shards", None)
        if previous != description:
            raise ValueError(f"{manifest} describes a different run; choose another --out or remove it")
    shard_count = (count + shard_size - 1) // shard_size
    paths = [out / f"{split}-{shard:05d}.npz" for shard in range(shard_count)]
    manifest.write_text(json.dumps(description | {"shards": [p.name for p in paths]}, indent=2) + "\n")
    for shard, path in enumerate(paths):
        if path.exists():
            print(f"{path.name}: already written, skipped", flush=True)
            continue
        started = time.perf_counter()
        indices = range(shard * shard_size, min(count, (shard + 1) * shard_size))
        clips = [sample_clip(seed, i, split, resolution, high_resolution) for i in indices]
        write_shard(path, clips)
        print(f"{path.name}: {len(clips)} clips in {time.perf_counter() - started:.1f}s", flush=True)
    return paths


def main(argv: list[str] | None = None) -> None:
    arguments = _arguments(argv)
    generate_split(
        arguments.split,
        arguments.count,
        arguments.out,
        seed=arguments.seed,
        shard_size=arguments.shard_size,
        resolution=arguments.resolution,
        high_resolution=arguments.high_resolution,
    )


if __name__ == "__main__":
    main()
