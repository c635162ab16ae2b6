from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from magicvideo_models.image_encoder import ImageEncoder
from magicvideo_models.keyframe_unet import KeyframeUNet
from magicvideo_models.model_folder import as_trained
from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.shapes.grammar import parse_caption
from magicvideo_models.text_encoder import TextEncoder
from magicvideo_models.training.latent_cache import LatentCache, encodings_digest, load_frozen_encoders
from magicvideo_models.training.shapes_dataset import signed_pixels
from magicvideo_models.training.test_stop_request import StopAfter
from magicvideo_models.training.train_keyframe_unet import (
    KeyframeTrainingConfig,
    augmented_batch,
    keyframe_model_set,
    pool_indices,
    read_weights_snapshot,
    time_reversed,
    train,
)
from magicvideo_models.training.trained_weights import load_trained_weights, prefixed, save_stage_weights
from magicvideo_models.video_vae import VideoVAE


def write_untrained_encoders(folder: Path) -> Path:
    """A weights folder with random tiny clip and vae stages (the U-Net stages' inputs)."""
    model_set = ModelSetConfig.tiny()
    torch.manual_seed(0)
    clip = prefixed("text_encoder.", TextEncoder(model_set.text_encoder).state_dict()) | prefixed(
        "image_encoder.", ImageEncoder(model_set.image_encoder).state_dict()
    )
    save_stage_weights(folder, "clip", clip, {"stage": "clip"})
    save_stage_weights(folder, "vae", VideoVAE(model_set.vae).state_dict(), {"latent_scaling_factor": 0.7})
    return folder


@pytest.fixture(scope="module")
def encoders_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_untrained_encoders(tmp_path_factory.mktemp("encoders"))


def smoke_config(tmp_path: Path, encoders_folder: Path, name: str) -> KeyframeTrainingConfig:
    return KeyframeTrainingConfig(
        out=tmp_path / name,
        weights_out=tmp_path / name / "weights",
        encoders_from=encoders_folder,
        cache_root=tmp_path / "cache",  # shared by the runs of a test: the second reads it back
        unsupervised_steps=2,
        text_steps=2,
        batch_size=2,
        pool_clips=6,
        cache_shard_clips=4,
        warmup_steps=2,
        threads=1,
        checkpoint_every=1,
        sample_every=0,
        eval_clips=1,
        eval_steps=1,
        quiet=True,
    )


def test_the_cache_key_follows_the_vae_encoder_not_its_decoder(encoders_folder: Path) -> None:
    weights = load_trained_weights(encoders_folder)
    original = encodings_digest(weights)
    vae = weights.components["vae"]
    decoder_name = next(k for k in vae if k.startswith("decoder.temporal_attentions."))
    encoder_name = next(k for k in vae if k.startswith("encoder."))
    vae[decoder_name] = vae[decoder_name] + 1
    assert encodings_digest(weights) == original
    vae[encoder_name] = vae[encoder_name] + 1
    assert encodings_digest(weights) != original


def test_first_epoch_goes_through_the_pool_in_order_later_epochs_shuffle_it() -> None:
    first = [i for step in range(3) for i in pool_indices(0, step, 2, 6)]
    second = [i for step in range(3, 6) for i in pool_indices(0, step, 2, 6)]
    assert first == list(range(6))
    assert sorted(second) == list(range(6)) and second != first


def test_a_reversed_clip_is_the_cached_clip_backwards_captioned_with_the_opposite_motion(
    tmp_path: Path, encoders_folder: Path
) -> None:
    config = replace(smoke_config(tmp_path, encoders_folder, "aug"), reverse_fraction=1.0, pool_clips=4)
    encoders = load_frozen_encoders(encoders_folder, ModelSetConfig.tiny())
    cache = LatentCache(config.cache_root, encoders, "tiny", 0, config.pool_clips, config.cache_shard_clips)
    cached = cache.clips(pool_indices(0, 0, 2, 4))
    batch = augmented_batch(config, cache, 0, scaling=0.7)
    for i, attributes in enumerate(cached.attributes):
        asked = parse_caption(batch.captions[i])
        if asked == attributes:  # reversal refused: the reversed combination is held out
            torch.testing.assert_close(batch.latents[i], cached.latents[i] * 0.7)
            continue
        assert asked == time_reversed(attributes)
        torch.testing.assert_close(batch.latents[i], cached.latents[i].flip(1) * 0.7)
        torch.testing.assert_close(batch.image_embeds[i], cached.image_embeds[i].flip(0))


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory: pytest.TempPathFactory, encoders_folder: Path) -> tuple[Path, dict]:
    """An uninterrupted smoke run (2 unsupervised + 2 text steps), judged samples after each phase."""
    folder = tmp_path_factory.mktemp("runs")
    config = replace(smoke_config(folder, encoders_folder, "whole"), sample_every=2, sample_clips=1)
    return folder, train(config)


def test_both_phases_train_and_write_float16_ema_weights_with_their_summary(
    whole_run: tuple[Path, dict],
) -> None:
    folder, summary = whole_run
    assert sorted(summary["losses"]) == [1, 2, 3, 4]
    assert all(np.isfinite(loss) for loss in summary["losses"].values())
    assert [point[0] for point in summary["loss_curve"]] == [4]  # logged every 10 steps and at the end
    assert [check["phase"] for check in summary["sample_checks"]] == ["unsupervised", "text"]
    assert set(summary["evaluation"]) == {"val", "heldout"}
    weights = folder / "whole" / "weights" / "keyframe_unet.safetensors"
    state, stored = read_weights_snapshot(weights)
    assert stored["steps"] == 4 and stored["finished"] and stored["weights"] == "ema"
    assert {tensor.dtype for tensor in load_file(str(weights)).values()} == {torch.float16}
    KeyframeUNet(ModelSetConfig.tiny().keyframe_unet).load_state_dict(state, strict=True)


def test_a_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(
    whole_run: tuple[Path, dict], encoders_folder: Path
) -> None:
    folder, whole = whole_run
    split_config = smoke_config(folder, encoders_folder, "split")
    stopped = train(split_config, StopAfter(3))  # stops inside the text phase
    assert stopped["steps"] == 3 and not stopped["finished"]
    snapshot = split_config.weights_out / "keyframe_unet.partial.safetensors"
    assert read_weights_snapshot(snapshot)[1]["steps"] == 3
    resumed = train(split_config)
    assert sorted(resumed["losses"]) == [4]
    assert resumed["losses"][4] == pytest.approx(whole["losses"][4], rel=1e-4)
    np.testing.assert_allclose(resumed["loss_curve"], whole["loss_curve"], rtol=1e-4)
    a = read_weights_snapshot(folder / "whole" / "weights" / "keyframe_unet.safetensors")[0]
    b = read_weights_snapshot(split_config.weights_out / "keyframe_unet.safetensors")[0]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=1e-3)


def test_a_weights_snapshot_starts_a_run_at_its_step(tmp_path: Path, encoders_folder: Path) -> None:
    first = smoke_config(tmp_path, encoders_folder, "first")
    train(first, StopAfter(2))
    snapshot = first.weights_out / "keyframe_unet.partial.safetensors"
    continued = replace(smoke_config(tmp_path, encoders_folder, "continued"), init_from=str(snapshot))
    summary = train(continued)
    assert sorted(summary["losses"]) == [3, 4]
    assert summary["unsupervised_steps_done"] == 2 and summary["text_steps_done"] == 2
    fine_tune = replace(
        smoke_config(tmp_path, encoders_folder, "fine_tune"),
        init_from=str(snapshot),
        init_weights_only=True,
        unsupervised_steps=0,
    )
    tuned = train(fine_tune)  # its own schedule from step 0, all text, nothing of the snapshot's history
    assert sorted(tuned["losses"]) == [1, 2]
    assert tuned["unsupervised_steps_done"] == 0 and tuned["text_steps_done"] == 2
    assert len(tuned["loss_curve"]) <= 2


def test_a_run_on_repeated_caption_states_records_it_for_the_export(
    tmp_path: Path, encoders_folder: Path
) -> None:
    config = replace(smoke_config(tmp_path, encoders_folder, "repeated"), repeat_caption_states=True)
    assert keyframe_model_set(config).text_encoder.repeat_caption_states
    assert not keyframe_model_set(
        replace(config, repeat_caption_states=False)
    ).text_encoder.repeat_caption_states
    summary = train(config)
    assert summary["config"]["repeat_caption_states"] is True
    exported = as_trained(ModelSetConfig.tiny(), load_trained_weights(config.weights_out))
    assert exported.text_encoder.repeat_caption_states  # the folder's text encoder repeats them too


def test_with_a_pixel_weight_the_batch_carries_the_true_key_frames_as_played(
    tmp_path: Path, encoders_folder: Path
) -> None:
    config = replace(
        smoke_config(tmp_path, encoders_folder, "pixels"),
        reverse_fraction=1.0,
        pool_clips=4,
        pixel_weight=1.0,
        pixel_examples=2,
        pixel_frames=3,
    )
    encoders = load_frozen_encoders(encoders_folder, ModelSetConfig.tiny())
    cache = LatentCache(config.cache_root, encoders, "tiny", 0, config.pool_clips, config.cache_shard_clips)
    indices = pool_indices(0, 0, 2, 4)
    cached = cache.clips(indices)
    batch = augmented_batch(config, cache, 0, scaling=0.7)

    assert batch.keyframes is not None and batch.keyframes.shape[:3] == (2, 3, 3)
    window = slice(batch.first_keyframe, batch.first_keyframe + 3)
    for i, index in enumerate(indices):
        keyframes = sample_clip(0, index, "train").keyframes
        played_backwards = parse_caption(batch.captions[i]) != cached.attributes[i]
        expected = signed_pixels(keyframes[::-1] if played_backwards else keyframes)[window].movedim(0, 1)
        torch.testing.assert_close(batch.keyframes[i], expected, rtol=0, atol=0)


def test_the_decoded_frame_term_enters_the_loss_in_proportion_to_its_weight(
    tmp_path: Path, encoders_folder: Path
) -> None:
    first_losses = {}
    for weight in (0.0, 1.0, 2.0):
        config = replace(smoke_config(tmp_path, encoders_folder, f"weight{weight}"), pixel_weight=weight)
        first_losses[weight] = train(config, StopAfter(1))["losses"][1]
    frames_term = first_losses[1.0] - first_losses[0.0]
    assert frames_term > 0
    assert first_losses[2.0] - first_losses[0.0] == pytest.approx(2 * frames_term, rel=1e-3)


@pytest.mark.parametrize("field_value", [("pixel_weight", -1.0), ("pixel_examples", 0), ("pixel_frames", 0)])
def test_bad_decoded_frame_settings_are_refused(
    tmp_path: Path, encoders_folder: Path, field_value: tuple[str, float]
) -> None:
    name, value = field_value
    with pytest.raises(ValueError, match="pixel"):
        train(replace(smoke_config(tmp_path, encoders_folder, "refused"), **{name: value}))
