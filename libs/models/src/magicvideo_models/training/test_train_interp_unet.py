from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from magicvideo_models.interp_unet import InterpUNet
from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.training.latent_cache import load_frozen_encoders
from magicvideo_models.training.test_train_keyframe_unet import StopAfter, write_untrained_encoders
from magicvideo_models.training.train_interp_unet import InterpTrainingConfig, pair_batch, train
from magicvideo_models.training.train_keyframe_unet import read_weights_snapshot, write_float16_weights


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


def smoke_config(tmp_path: Path, weights_folder: Path, name: str) -> InterpTrainingConfig:
    return InterpTrainingConfig(
        out=tmp_path / name,
        weights_out=tmp_path / name / "weights",
        encoders_from=weights_folder,
        keyframe_weights=weights_folder / "keyframe_unet.safetensors",
        steps=3,
        batch_size=2,
        warmup_steps=2,
        threads=1,
        checkpoint_every=1,
        eval_clips=1,
        quiet=True,
    )


def test_a_pair_is_two_key_frames_and_the_three_frames_between_them(weights_folder: Path) -> None:
    encoders = load_frozen_encoders(weights_folder, ModelSetConfig.tiny())
    clip = sample_clip(0, 0, "train")
    batch = pair_batch(encoders, [clip], [5])
    latents, embeds = encoders.encode_frames(clip.frames[None, 20:25])
    torch.testing.assert_close(batch.neighbours, latents[:, :, [0, 4]] * encoders.latent_scaling_factor)
    torch.testing.assert_close(batch.middle, latents[:, :, 1:4] * encoders.latent_scaling_factor)
    torch.testing.assert_close(batch.image_embeds, embeds[:, [0, 4]])
    assert np.array_equal(clip.keyframes[5], clip.frames[20]) and np.array_equal(
        clip.keyframes[6], clip.frames[24]
    )


def test_training_starts_from_the_key_frame_weights(tmp_path: Path, weights_folder: Path) -> None:
    summary = train(replace(smoke_config(tmp_path, weights_folder, "zero"), steps=0))
    assert summary["steps"] == 0 and "val_middle_frames" in summary
    keyframe = KeyframeUNet(ModelSetConfig.tiny().keyframe_unet)
    keyframe.load_state_dict(read_weights_snapshot(weights_folder / "keyframe_unet.safetensors")[0])
    expected = InterpUNet.from_keyframe(keyframe, 128).state_dict()
    written = read_weights_snapshot(tmp_path / "zero" / "weights" / "interp_unet.safetensors")[0]
    assert set(written) == set(expected)
    for name, tensor in expected.items():
        torch.testing.assert_close(written[name], tensor.half().float())


def test_a_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(
    tmp_path: Path, weights_folder: Path
) -> None:
    whole = train(smoke_config(tmp_path, weights_folder, "whole"))
    assert all(np.isfinite(loss) for loss in whole["losses"].values())
    split = smoke_config(tmp_path, weights_folder, "split")
    assert train(split, StopAfter(2))["steps"] == 2
    assert read_weights_snapshot(split.weights_out / "interp_unet.partial.safetensors")[1]["steps"] == 2
    resumed = train(split)
    assert resumed["losses"][3] == pytest.approx(whole["losses"][3], rel=1e-4)
    a = read_weights_snapshot(tmp_path / "whole" / "weights" / "interp_unet.safetensors")[0]
    b = read_weights_snapshot(split.weights_out / "interp_unet.safetensors")[0]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=1e-3)
