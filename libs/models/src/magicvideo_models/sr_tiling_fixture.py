"""Writes the runtime's exact-tiling fixture, libs/diffusion/test/fixtures/sr-tiling/: a small
SR U-Net with random weights and the manifest facts a tiled run reads.

Why a separate model: tiling is exact only when a tile's halo covers the receptive field
(sr_unet.py, module doc), and the shipped tiny SR U-Net's field (275 pixels) is wider than its
256×256 frames, so on it no tiling of a frame the test can afford ever splits the field. Two
levels of 8 and 16 channels reach 123 pixels: a 640×640 frame holds 5×5 cores of 128 with a
128-pixel halo, and a test can show both that the tiled run equals the whole-frame run and that
a halo below the field makes it differ (libs/diffusion/src/stages/super-resolve.spec.ts).

The folder is not a whole model folder: `model_index.json` holds only the manifest keys the SR
stage reads (`sr_scale`, `super_resolution`, `schedulers.sr_unet`, `defaults`, `models.sr_unet`);
the spec lays them over the shipped folder's manifest. Same seed → byte-identical files.

    .venv/bin/python -m magicvideo_models.sr_tiling_fixture [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from functools import partial
from pathlib import Path

import torch

from .model_set import SchedulerConfig
from .onnx_export import export_onnx
from .sr_unet import SRUNet, SRUNetConfig, example_inputs, receptive_field_radius

# "direct": the runtime's tiling reads only the manifest's facts, and the spec pins this
# network's field (123); the residual form's base adds its own few pixels (sr_unet.py)
FIXTURE_CONFIG = SRUNetConfig(block_out_channels=(8, 16), sample_size=128, parametrisation="direct")
FIXTURE_SEED = 0
SR_SCALE = 4
MODEL_FILE = "sr_unet/model.onnx"
MANIFEST_FILE = "model_index.json"
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "diffusion" / "test" / "fixtures" / "sr-tiling"


def fixture_model(config: SRUNetConfig = FIXTURE_CONFIG, seed: int = FIXTURE_SEED) -> SRUNet:
    """The layers' default (seeded) initialisation, as the model set's untrained models.

    Not N(0, σ²) for every parameter: norm scales near 0 shrink the down-sampled path at every
    block, and inputs beyond ~50 pixels then move the output by less than float rounding, so a
    too-small halo could not be told from an exact one. With the default init, inputs 64 to 123
    pixels away still carry a clear signal.
    """
    torch.manual_seed(seed)
    return SRUNet(config).eval()


def fixture_manifest(config: SRUNetConfig = FIXTURE_CONFIG) -> dict:
    """The manifest keys the SR stage reads, as model_folder.build_manifest writes them."""
    return {
        "config_name": "sr-tiling-fixture",
        "sr_scale": SR_SCALE,
        "super_resolution": {
            "size_multiple": config.size_multiple,
            "receptive_field_radius": receptive_field_radius(config),
        },
        "schedulers": {"sr_unet": asdict(SchedulerConfig.super_resolution())},
        "defaults": {"sr_num_inference_steps": 2, "sr_noise_level": 20},
        "models": {"sr_unet": MODEL_FILE},
        "training": {
            "status": "untrained",
            "weights": f"the layers' default random initialisation, seed {FIXTURE_SEED}",
            "purpose": "libs/diffusion's exact SR tiling test (magicvideo_models.sr_tiling_fixture)",
        },
    }


def write_sr_tiling_fixture(out_dir: Path, config: SRUNetConfig = FIXTURE_CONFIG) -> dict:
    """Exports the fixture model (checked against PyTorch) and its manifest into `out_dir`."""
    out_dir = Path(out_dir)
    export_onnx(
        "sr_unet",
        fixture_model(config),
        partial(example_inputs, config),
        out_dir / MODEL_FILE,
        float16_weights=True,
    )
    manifest = fixture_manifest(config)
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    manifest = write_sr_tiling_fixture(args.out)
    print(f"wrote {args.out}: super_resolution {manifest['super_resolution']}")


if __name__ == "__main__":
    main()
