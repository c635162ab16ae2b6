from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from magicvideo_models.evaluation import onnx_pipeline
from magicvideo_models.evaluation.cli_check import repo_root
from magicvideo_models.evaluation.interpolation_quality import linear_blend
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, SamplingSettings
from magicvideo_models.interp_unet import InterpUNet
from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.training.decoded_frame_loss import decoded_frame_loss
from magicvideo_models.training.interp_latent_cache import (
    InterpolationLatentCache,
    decoded_keyframe_embeds,
    encode_for_interpolation,
)
from magicvideo_models.training.latent_cache import FrozenEncoders, load_frozen_encoders
from magicvideo_models.training.loss_weighting import (
    clean_from_epsilon,
    clean_sample_weights,
    min_snr_weights,
    weighted_mse,
)
from magicvideo_models.training.shapes_dataset import step_generator
from magicvideo_models.training.test_stop_request import StopAfter
from magicvideo_models.training.test_train_keyframe_unet import write_untrained_encoders
from magicvideo_models.training.train_interp_unet import (
    InterpBatch,
    InterpTrainingConfig,
    clip_pairs,
    initial_model,
    pair_windows,
    train,
    training_batch,
)
from magicvideo_models.training.train_keyframe_unet import (
    diffusion_scheduler,
    read_weights_snapshot,
    write_float16_weights,
)

ROOT = repo_root()
SHIPPED_FOLDER = ROOT / "assets" / "models" / "magicvideo-shapes"
SHIPPED_WEIGHTS = ROOT / "assets" / "checkpoints" / "magicvideo-shapes"  # the folder's trained stages


@pytest.fixture(scope="module")
def weights_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random tiny encoders plus a random key-frame U-Net snapshot (the stage's starting point)."""
    folder = write_untrained_encoders(tmp_path_factory.mktemp("weights"))
    torch.manual_seed(1)
    keyframe = KeyframeUNet(ModelSetConfig.tiny().keyframe_unet)
    for parameter in keyframe.parameters():  # no zero-initialised outputs: a copy shows everywhere
        parameter.data.normal_(0, 0.02)
    write_float16_weights(folder / "keyframe_unet.safetensors", keyframe.state_dict(), {"steps": 10})
    return folder


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One interpolation cache for the module's runs: the first run encodes, the others read back."""
    return tmp_path_factory.mktemp("interp-cache")


def smoke_config(tmp_path: Path, weights_folder: Path, cache_root: Path, name: str) -> InterpTrainingConfig:
    return InterpTrainingConfig(
        out=tmp_path / name,
        weights_out=tmp_path / name / "weights",
        encoders_from=weights_folder,
        keyframe_weights=weights_folder / "keyframe_unet.safetensors",
        cache_root=cache_root,
        steps=3,
        batch_size=3,
        pool_clips=4,
        cache_shard_clips=2,
        warmup_steps=2,
        threads=1,
        log_every=1,
        checkpoint_every=1,
        eval_clips=1,
        quiet=True,
    )


def test_a_pair_is_two_key_frames_and_the_three_frames_between_them(weights_folder: Path) -> None:
    encoders = load_frozen_encoders(weights_folder, ModelSetConfig.tiny())
    clip = sample_clip(0, 0, "train")
    encoded = encode_for_interpolation(encoders, [clip, clip])
    batch = pair_windows(encoded, [5, 5], [False, True], encoders.latent_scaling_factor)

    # key frames 5 and 6 and the frames between, as the batch encoded them (a separate encoding
    # of just these 5 frames differs in the fourth decimal: another batch size, other kernels)
    scaled = encoded.latents[0][:, 20:25] * encoders.latent_scaling_factor
    torch.testing.assert_close(batch.neighbours[0], scaled[:, [0, 4]])
    torch.testing.assert_close(batch.middle[0], scaled[:, 1:4])
    torch.testing.assert_close(batch.image_embeds[0], encoded.keyframe_embeds[0, [5, 6]])
    # played backwards: the later key frame first, middle frames reversed, embeddings swapped
    torch.testing.assert_close(batch.neighbours[1], scaled[:, [4, 0]])
    torch.testing.assert_close(batch.middle[1], scaled[:, [3, 2, 1]])
    torch.testing.assert_close(batch.image_embeds[1], encoded.keyframe_embeds[0, [6, 5]])


def test_image_embeddings_are_those_of_the_decoded_key_frames_not_the_true_ones(weights_folder: Path) -> None:
    encoders = load_frozen_encoders(weights_folder, ModelSetConfig.tiny())
    clip = sample_clip(0, 1, "train")
    encoded = encode_for_interpolation(encoders, [clip])
    keyframe_latents = encoded.latents[:, :, ::4]
    torch.testing.assert_close(encoded.keyframe_embeds, decoded_keyframe_embeds(encoders, keyframe_latents))
    _, true_embeds = encoders.encode_frames(clip.keyframes[None])
    assert not torch.allclose(encoded.keyframe_embeds, true_embeds, atol=1e-3)


def test_the_cache_round_trips_and_encodes_the_same_clips_the_same_way(
    tmp_path: Path, weights_folder: Path
) -> None:
    encoders = load_frozen_encoders(weights_folder, ModelSetConfig.tiny())
    first = InterpolationLatentCache(tmp_path / "a", encoders, "tiny", 0, pool_clips=3, shard_clips=2)
    first.fill()
    assert first.encoded_clips == 4  # whole shards
    assert sorted(p.name for p in first.folder.iterdir()) == ["shard_00000.pt", "shard_00001.pt"]
    wanted = [2, 0, 1]
    encoded = first.clips(wanted)

    read_back = InterpolationLatentCache(tmp_path / "a", encoders, "tiny", 0, pool_clips=3, shard_clips=2)
    again = read_back.clips(wanted)
    assert read_back.encoded_clips == 0
    torch.testing.assert_close(again.latents, encoded.latents, rtol=0, atol=0)
    torch.testing.assert_close(again.keyframe_embeds, encoded.keyframe_embeds, rtol=0, atol=0)

    elsewhere = InterpolationLatentCache(tmp_path / "b", encoders, "tiny", 0, pool_clips=3, shard_clips=2)
    fresh = elsewhere.clips(wanted)
    assert elsewhere.encoded_clips == 4
    torch.testing.assert_close(fresh.latents, encoded.latents, rtol=0, atol=0)
    torch.testing.assert_close(fresh.keyframe_embeds, encoded.keyframe_embeds, rtol=0, atol=0)
    # encoded directly in one batch of 3 rather than in shards of 2: the same clips, other kernels
    # (oneDNN picks them by batch size), so equal to float32 batch-size noise (seen up to 5e-4)
    direct = encode_for_interpolation(encoders, [sample_clip(0, index, "train") for index in wanted])
    torch.testing.assert_close(direct.latents, encoded.latents, rtol=1e-3, atol=2e-3)
    torch.testing.assert_close(direct.keyframe_embeds, encoded.keyframe_embeds, rtol=1e-3, atol=2e-3)
    with pytest.raises(IndexError):
        first.clips([3])


def test_the_cache_key_follows_the_decoder_the_embeddings_come_from(
    tmp_path: Path, weights_folder: Path
) -> None:
    encoders = load_frozen_encoders(weights_folder, ModelSetConfig.tiny())
    before = InterpolationLatentCache(tmp_path, encoders, "tiny", 0, pool_clips=1).folder
    with torch.no_grad():
        next(encoders.vae.decoder.parameters()).add_(0.01)
    assert InterpolationLatentCache(tmp_path, encoders, "tiny", 0, pool_clips=1).folder != before
    assert InterpolationLatentCache(tmp_path, encoders, "tiny", 1, pool_clips=1).folder.name.startswith(
        "tiny-data1"
    )


def test_neighbour_pairs_of_a_clip_are_taken_as_the_runtime_pairs_them() -> None:
    latents = torch.arange(16.0).view(1, 1, 16, 1, 1)
    embeds = torch.arange(16.0).view(16, 1)
    neighbours, pair_embeds = clip_pairs(latents, embeds)
    assert neighbours.shape == (15, 1, 2, 1, 1) and pair_embeds.shape == (15, 2, 1)
    assert neighbours[:, 0, :, 0, 0].tolist() == [[k, k + 1] for k in range(15)]
    assert pair_embeds[:, :, 0].tolist() == [[k, k + 1] for k in range(15)]
    # the lerp baseline's middle frames are the blend of the same two neighbours
    assert linear_blend(latents)[0, 0, 1:4, 0, 0].tolist() == [0.25, 0.5, 0.75]


def test_training_conditions_the_model_as_the_serving_runtime_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped folder's interpolation stage (onnx_pipeline.interpolate, the mirror of
    interpolate.ts) on a clip's true key-frame latents, fed their decoded frames as the runtime
    feeds them, gets the same neighbours and image embeddings as training builds from the trained
    encoders the folder was exported from: scaled latents, earlier key frame first, embeddings of
    the decoded key frames."""
    folder = OnnxModelFolder.open(SHIPPED_FOLDER, threads=1)
    encoders = load_frozen_encoders(SHIPPED_WEIGHTS, ModelSetConfig.tiny())
    assert encoders.latent_scaling_factor == pytest.approx(folder.latent_scaling_factor)
    clip = sample_clip(0, 0, "val")
    scale = np.float32(folder.latent_scaling_factor)
    keyframe_latents = torch.from_numpy(folder.video_latents(clip.keyframes) * scale)  # [1, C, 16, h, w]
    served: dict[str, torch.Tensor] = {}

    def capture(*args: object, **kwargs: object) -> torch.Tensor:
        served.update(kwargs["shared"])  # type: ignore[arg-type]
        return torch.zeros(kwargs["shape"])  # type: ignore[arg-type]

    monkeypatch.setattr(onnx_pipeline, "sample", capture)
    settings = SamplingSettings(interp_steps=1).resolved(folder.manifest)
    folder.interpolate(keyframe_latents, folder.decode(keyframe_latents), seed=0, settings=settings)

    encoded = encode_for_interpolation(encoders, [clip])
    neighbours, embeds = clip_pairs(
        encoded.latents[:, :, ::4] * encoders.latent_scaling_factor, encoded.keyframe_embeds[0]
    )
    batch = pair_windows(encoded, [3], [False], encoders.latent_scaling_factor)
    torch.testing.assert_close(batch.neighbours[0], neighbours[3])
    torch.testing.assert_close(batch.image_embeds[0], embeds[3])
    # ONNX against PyTorch: float rounding, and a decoded byte that rounds the other way
    torch.testing.assert_close(neighbours, served["neighbours"], rtol=0, atol=3e-3)
    torch.testing.assert_close(embeds, served["image_embeds"], rtol=0, atol=0.05)
    # the source matters: the true key frames' embeddings are far from the served ones (measured
    # 3.4 at most, embeddings of norm ~14), so training on them taught the model other inputs
    true_frame_embeds = torch.from_numpy(folder.image_embeds(clip.keyframes))
    assert (served["image_embeds"][:, 0] - true_frame_embeds[:-1]).abs().max() > 0.5


def test_training_starts_from_the_key_frame_weights(
    tmp_path: Path, weights_folder: Path, cache_root: Path
) -> None:
    summary = train(replace(smoke_config(tmp_path, weights_folder, cache_root, "zero"), steps=0))
    assert summary["steps"] == 0
    checked = summary["val_middle_frames"]
    assert checked["clips"] == 1 and checked["pairs"] == 15
    for name in ("sampled", "true_latents", "latent_lerp"):
        assert np.isfinite(checked[f"{name}_psnr_db"]) and np.isfinite(
            checked[f"object_region_{name}_psnr_db"]
        )
    assert 0 < checked["object_region_fraction"] < 0.5
    keyframe = KeyframeUNet(ModelSetConfig.tiny().keyframe_unet)
    keyframe.load_state_dict(read_weights_snapshot(weights_folder / "keyframe_unet.safetensors")[0])
    expected = InterpUNet.from_keyframe(keyframe, 128).state_dict()
    written = read_weights_snapshot(tmp_path / "zero" / "weights" / "interp_unet.safetensors")[0]
    assert set(written) == set(expected)
    for name, tensor in expected.items():
        torch.testing.assert_close(written[name], tensor.half().float())
    assert not written["unet.conv_out.weight"].any() and not written["unet.conv_out.bias"].any()  # blend skip


@dataclass(frozen=True)
class FirstStep:
    """Step 0 of a run recomputed outside the trainer, from its untrained model."""

    batch: InterpBatch
    timestep: torch.Tensor
    noise: torch.Tensor
    noisy: torch.Tensor
    prediction: torch.Tensor
    alphas_cumprod: torch.Tensor
    encoders: FrozenEncoders


def first_step(config: InterpTrainingConfig, weights_folder: Path, cache_root: Path) -> FirstStep:
    model_set = ModelSetConfig.tiny()
    encoders = load_frozen_encoders(weights_folder, model_set)
    cache = InterpolationLatentCache(
        cache_root, encoders, "tiny", 0, config.pool_clips, config.cache_shard_clips
    )
    batch = training_batch(config, cache, 0, encoders.latent_scaling_factor)
    scheduler = diffusion_scheduler(model_set)
    generator = step_generator(config.seed, 0)
    timestep = torch.randint(
        0, scheduler.config.num_train_timesteps, (config.batch_size,), generator=generator
    )
    noise = torch.randn(batch.middle.shape, generator=generator)
    noisy = scheduler.add_noise(batch.middle, noise, timestep)
    with torch.no_grad():
        prediction = initial_model(config, model_set)(
            noisy, batch.neighbours, timestep.float(), batch.image_embeds
        )
    return FirstStep(batch, timestep, noise, noisy, prediction, scheduler.alphas_cumprod, encoders)


@pytest.mark.parametrize(("gamma", "floor"), [(0.0, 0.0), (5.0, 0.0), (5.0, 1.0)])
def test_the_first_step_loss_is_the_min_snr_weighted_epsilon_loss(
    tmp_path: Path, weights_folder: Path, cache_root: Path, gamma: float, floor: float
) -> None:
    config = replace(
        smoke_config(tmp_path, weights_folder, cache_root, f"snr{gamma}-{floor}"),
        steps=1,
        min_snr_gamma=gamma,
        snr_floor=floor,
    )
    summary = train(config)
    step = first_step(config, weights_folder, cache_root)
    per_example = (step.prediction - step.noise).pow(2).flatten(1).mean(dim=1)
    weights = min_snr_weights(step.alphas_cumprod, step.timestep, gamma, floor)
    assert step.batch.middle_frames is None  # no pixels rendered without a pixel weight
    assert summary["losses"][1] == pytest.approx(float((per_example * weights).mean()), rel=1e-4)
    if gamma > 0:  # the weighting does something on this batch
        assert float((per_example * weights).mean()) != pytest.approx(float(per_example.mean()), rel=1e-3)


def test_a_pixel_weight_adds_the_decoded_middle_frames_error_of_the_first_examples(
    tmp_path: Path, weights_folder: Path, cache_root: Path
) -> None:
    config = replace(
        smoke_config(tmp_path, weights_folder, cache_root, "frames"),
        steps=1,
        pixel_weight=10.0,
        pixel_examples=2,
    )
    summary = train(config)
    step = first_step(config, weights_folder, cache_root)
    latent = weighted_mse(
        step.prediction, step.noise, min_snr_weights(step.alphas_cumprod, step.timestep, 5.0, 1.0)
    )
    assert step.batch.middle_frames is not None and step.batch.middle_frames.shape[:3] == (2, 3, 3)
    clean = clean_from_epsilon(step.alphas_cumprod, step.noisy[:2], step.prediction[:2], step.timestep[:2])
    with torch.no_grad():
        frames = decoded_frame_loss(
            step.encoders.vae,
            torch.cat([step.batch.neighbours[:2, :, :1], clean], dim=2),
            step.batch.middle_frames,
            clean_sample_weights(step.alphas_cumprod, step.timestep[:2], 5.0, 1.0),
            step.encoders.latent_scaling_factor,
            context_frames=1,
        )
    assert summary["losses"][1] == pytest.approx(float(latent + 10.0 * frames), rel=1e-4)
    assert float(10.0 * frames) > 0.01 * float(latent)  # the frames term is in the number


@pytest.mark.parametrize(("weight", "examples"), [(-1.0, 4), (1.0, 0)])
def test_a_negative_pixel_weight_or_no_pixel_examples_is_refused(
    tmp_path: Path, weights_folder: Path, cache_root: Path, weight: float, examples: int
) -> None:
    config = replace(
        smoke_config(tmp_path, weights_folder, cache_root, "refused"),
        pixel_weight=weight,
        pixel_examples=examples,
    )
    with pytest.raises(ValueError, match="pixel"):
        train(config)


def test_a_step_draws_pool_clips_and_pairs_as_a_function_of_the_step(
    tmp_path: Path, weights_folder: Path, cache_root: Path
) -> None:
    config = smoke_config(tmp_path, weights_folder, cache_root, "draw")
    encoders = load_frozen_encoders(weights_folder, ModelSetConfig.tiny())
    cache = InterpolationLatentCache(
        cache_root, encoders, "tiny", 0, config.pool_clips, config.cache_shard_clips
    )
    a, b = (training_batch(config, cache, 7, 0.5) for _ in range(2))
    torch.testing.assert_close(a.middle, b.middle, rtol=0, atol=0)
    other = training_batch(config, cache, 8, 0.5)
    assert not torch.equal(a.middle, other.middle)


def test_a_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(
    tmp_path: Path, weights_folder: Path, cache_root: Path
) -> None:
    whole = train(smoke_config(tmp_path, weights_folder, cache_root, "whole"))
    assert all(np.isfinite(loss) for loss in whole["losses"].values())
    split = smoke_config(tmp_path, weights_folder, cache_root, "split")
    assert train(split, StopAfter(2))["steps"] == 2
    assert read_weights_snapshot(split.weights_out / "interp_unet.partial.safetensors")[1]["steps"] == 2
    resumed = train(split)
    assert resumed["losses"][3] == pytest.approx(whole["losses"][3], rel=1e-4)
    a = read_weights_snapshot(tmp_path / "whole" / "weights" / "interp_unet.safetensors")[0]
    b = read_weights_snapshot(split.weights_out / "interp_unet.safetensors")[0]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=1e-3)
