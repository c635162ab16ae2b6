"""`magicvideo-models` (or `python -m magicvideo_models`): the model tools.

    export --config tiny --seed 0 --out DIR   write a checked, validated model folder
           [--weights DIR]                     with each trained stage's weights (training/)
    info DIR_OR_CONFIG                         parameters and FLOPs per model
    validate DIR                               check a folder against the model-folder contract
    inflate SD_FOLDER --out FILE               a Stable Diffusion 1.x U-Net -> key-frame U-Net weights
    flops-table                                the paper's latent-vs-pixel cost claim, measured
    fixtures                                   rewrite the committed test fixtures computed from
                                               the shipped folder's weights (after re-exporting it)

A mistake in the command line (a missing folder, an unknown config) prints one line naming it
and exits with 2; a folder that breaks the contract exits with 1 after listing every violation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from .contract import MANIFEST_FILE, ModelFolderError, validate_model_folder
from .model_folder import ModelFolderExportError, export_model_folder
from .model_set import CONFIG_NAMES, ModelSetConfig
from .onnx_export import OnnxExportError

EXIT_OK = 0
EXIT_FAILED = 1  # the work was done and found a problem (an invalid folder, a failed export)
EXIT_USAGE = 2  # the command line asks for something that cannot be (argparse's code too)


class UsageError(Exception):
    """A user mistake: reported as one line, exit code 2, no traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {error}\n")
    except (ModelFolderError, ModelFolderExportError, OnnxExportError) as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="magicvideo-models", description="MagicVideo model tools: export, inspect, validate, inflate."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = commands.add_parser(
        "export",
        help="export a model set (randomly initialised, or with --weights trained) to a model folder",
    )
    export.add_argument("--config", required=True, help=f"model-set config: {', '.join(CONFIG_NAMES)}")
    export.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    export.add_argument("--out", required=True, type=Path, help="folder to write")
    export.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="folder of trained stage weights (clip/vae/sr .safetensors + .json); models without "
        "trained weights keep the seeded random initialisation",
    )
    export.add_argument(
        "--float32-weights",
        action="store_true",
        help="store weights as float32 (default: float16 storage, float32 compute; half the size)",
    )
    export.set_defaults(run=_export)

    info = commands.add_parser("info", help="parameters and FLOPs per model of a folder or a config")
    info.add_argument("target", help=f"a model folder or a config name ({', '.join(CONFIG_NAMES)})")
    info.set_defaults(run=_info)

    validate = commands.add_parser("validate", help="check a model folder against the contract")
    validate.add_argument("folder", type=Path)
    validate.set_defaults(run=_validate)

    inflate = commands.add_parser(
        "inflate", help="inflate a diffusers Stable Diffusion 1.x folder's U-Net into key-frame U-Net weights"
    )
    inflate.add_argument("sd_folder", type=Path, help="a diffusers pipeline folder (with unet/)")
    inflate.add_argument("--out", required=True, type=Path, help="the .safetensors file to write")
    inflate.set_defaults(run=_inflate)

    flops = commands.add_parser("flops-table", help="key-frame U-Net FLOPs on latents vs on pixels")
    flops.add_argument(
        "--configs", nargs="+", default=["tiny", "base"], help="configs to compare (default: tiny base)"
    )
    flops.set_defaults(run=_flops_table)

    fixtures = commands.add_parser(
        "fixtures",
        help="rewrite the committed test fixtures computed from the shipped folder's weights "
        "(the key-frame parity vectors); run after re-exporting assets/models/magicvideo-shapes",
    )
    fixtures.set_defaults(run=_fixtures)
    return parser


def _config(name: str) -> ModelSetConfig:
    if name not in CONFIG_NAMES:
        raise UsageError(f"unknown config {name!r}: choose one of {', '.join(CONFIG_NAMES)}")
    return ModelSetConfig.by_name(name)


def _export(args: argparse.Namespace) -> int:
    _config(args.config)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    if args.weights is not None and not args.weights.is_dir():
        raise UsageError(f"--weights {args.weights} is not a folder")
    result = export_model_folder(
        args.config,
        args.seed,
        args.out,
        float16_weights=not args.float32_weights,
        weights_dir=args.weights,
        log=print,
    )
    print(
        f"exported {args.config} (seed {args.seed}) to {result.folder} in {result.seconds:.0f} s, "
        f"{result.total_bytes / 1e6:.1f} MB"
    )
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    from .info import folder_costs, format_costs, model_set_costs

    target = Path(args.target)
    if target.is_dir():
        if not (target / MANIFEST_FILE).is_file():
            raise UsageError(f"{target} is not a model folder: no {MANIFEST_FILE}")
        config_name, costs = folder_costs(target)
        print(f"{target} (config {config_name}; parameters from the ONNX files, FLOPs from the config)")
    elif args.target in CONFIG_NAMES:
        costs = model_set_costs(_config(args.target))
        print(f"config {args.target}")
    else:
        raise UsageError(f"{args.target!r} is neither a folder nor a config name ({', '.join(CONFIG_NAMES)})")
    print(format_costs(costs))
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise UsageError(f"{args.folder} is not a folder")
    report = validate_model_folder(args.folder)
    report.raise_if_invalid()
    print(f"{args.folder}: valid ({', '.join(report.models_checked)})")
    return EXIT_OK


def _inflate(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from .inflate import inflate_from_diffusers_folder

    if not args.sd_folder.is_dir():
        raise UsageError(f"{args.sd_folder} is not a folder")
    if args.out.suffix != ".safetensors":
        raise UsageError(f"--out {args.out} must end in .safetensors")
    try:
        unet, report = inflate_from_diffusers_folder(args.sd_folder)
    except (FileNotFoundError, ValueError) as error:  # not a diffusers U-Net, or one we cannot inflate
        raise UsageError(str(error)) from error
    state = {name: tensor.detach().contiguous() for name, tensor in unet.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": "pt",
        "source": str(args.sd_folder),
        "keyframe_unet_config": json.dumps(asdict(unet.config)),
    }
    save_file(state, str(args.out), metadata=metadata)
    print(
        f"wrote {args.out}: {len(state)} tensors, {sum(t.numel() for t in state.values()):,} parameters "
        f"({len(report.missing_keys)} of them the paper's video layers, at their inflation point)"
    )
    return EXIT_OK


def _flops_table(args: argparse.Namespace) -> int:
    from .info import explain_latent_vs_pixel, format_latent_vs_pixel, latent_vs_pixel_flops

    configs = [_config(name) for name in args.configs]
    comparisons = [latent_vs_pixel_flops(config) for config in configs]
    print(format_latent_vs_pixel(comparisons))
    print(explain_latent_vs_pixel())
    return EXIT_OK


def _fixtures(_args: argparse.Namespace) -> int:
    from . import parity_vectors

    models, out = parity_vectors.SHIPPED_FOLDER, parity_vectors.FIXTURE_DIR
    validate_model_folder(models).raise_if_invalid()
    parity_vectors.write_vectors(models, out)
    print(f"wrote {out} from {models} (sha256 {parity_vectors.folder_digest(models)[:12]}…)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
