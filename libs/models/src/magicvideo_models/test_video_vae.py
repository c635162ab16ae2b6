import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
import torch
from diffusers import AutoencoderKL

from magicvideo_models.video_vae import (
    VideoVAE,
    VideoVAEConfig,
    example_encoder_inputs,
    example_inputs,
)


def trained_looking(vae: VideoVAE) -> VideoVAE:
    """Give the zero-initialised temporal layers weights, as training would."""
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for layer in vae.decoder.temporal_attentions:
            layer.to_out.weight.copy_(torch.randn(layer.to_out.weight.shape, generator=generator) * 0.3)
    return vae


def make_vae(**changes) -> VideoVAE:
    torch.manual_seed(0)
    return VideoVAE(dataclasses.replace(VideoVAEConfig.tiny(), **changes)).eval()


def latents(num_frames: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(1, 4, num_frames, 8, 8, generator=torch.Generator().manual_seed(seed))


def decode(vae: VideoVAE, z: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return vae.decode(z)


def test_tiny_maps_64x64_frames_to_4x8x8_latents_and_back() -> None:
    vae = make_vae()
    frames = example_encoder_inputs(vae.config, batch_size=2)["frames"]
    with torch.no_grad():
        parameters = vae.encode_for_export()(frames)
        video = vae.decoder_for_export()(example_inputs(vae.config, batch_size=2)["latents"])
        reconstruction = vae(torch.rand(1, 3, 5, 64, 64) * 2 - 1)
    assert parameters.shape == (2, 8, 8, 8)
    assert video.shape == (2, 3, 16, 64, 64)
    assert reconstruction.shape == (1, 3, 5, 64, 64)
    for tensor in (parameters, video, reconstruction):
        assert torch.isfinite(tensor).all()
    assert video.abs().max() <= 1.0


def test_context_is_two_layers_of_window_minus_one() -> None:
    assert make_vae().decoder_context_frames == 2 * (8 - 1)
    assert make_vae(temporal_window=3).decoder_context_frames == 4
    assert make_vae(use_temporal_layers=False).decoder_context_frames == 0


def test_changing_a_latent_frame_never_changes_earlier_frames() -> None:
    vae = trained_looking(make_vae())
    z = latents(6)
    changed = z.clone()
    changed[:, :, 3] += 1.0
    before, after = decode(vae, z), decode(vae, changed)
    torch.testing.assert_close(after[:, :, :3], before[:, :, :3], rtol=0, atol=1e-6)
    assert (after[:, :, 3] - before[:, :, 3]).abs().max() > 1e-2


def test_videos_in_a_batch_never_see_each_other() -> None:
    vae = trained_looking(make_vae())
    first, second = latents(5, seed=1), latents(5, seed=2)
    together = decode(vae, torch.cat([first, second]))
    # atol: a batch of 10 frames and one of 5 may run other convolution kernels (~5e-6)
    torch.testing.assert_close(together[:1], decode(vae, first), rtol=0, atol=1e-5)
    torch.testing.assert_close(together[1:], decode(vae, second), rtol=0, atol=1e-5)


def test_a_latent_frame_reaches_exactly_decoder_context_frames_ahead() -> None:
    vae = trained_looking(make_vae(temporal_window=3))
    context, changed_frame = vae.decoder_context_frames, 2
    z = latents(changed_frame + context + 3)
    changed = z.clone()
    changed[:, :, changed_frame] += 1.0
    before, after = decode(vae, z), decode(vae, changed)
    last_reached = changed_frame + context
    assert (after[:, :, last_reached] - before[:, :, last_reached]).abs().max() > 1e-6
    torch.testing.assert_close(
        after[:, :, last_reached + 1 :], before[:, :, last_reached + 1 :], rtol=0, atol=1e-6
    )


def test_chunked_decode_with_left_context_equals_whole_decode() -> None:
    # float64: in float32 even a per-frame decoder differs by ~5e-6 between a 13-frame and a
    # 9-frame batch (oneDNN picks other convolution kernels); in float64 the chunking is exact.
    # Narrow and 4x4 latents, because float64 convolutions are slow on CPU.
    vae = trained_looking(make_vae(temporal_window=3, block_out_channels=(32, 32, 32, 32))).double()
    z = torch.randn(1, 4, 11, 4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    whole = decode(vae, z)
    with torch.no_grad():
        chunked = vae.decode_in_chunks(z, chunk_frames=4)
        without_context = torch.cat([vae.decode(z[:, :, s : s + 4]) for s in range(0, 11, 4)], dim=2)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-10)
    assert (without_context - whole).abs().max() > 1e-4  # the context is what makes it exact


def test_chunked_decode_in_float32_is_within_rounding_of_whole_decode() -> None:
    vae = trained_looking(make_vae(temporal_window=3))
    z = latents(13)
    with torch.no_grad():
        torch.testing.assert_close(vae.decode_in_chunks(z, chunk_frames=5), vae.decode(z), rtol=0, atol=1e-5)


def autoencoder_kl_like(vae: VideoVAE) -> AutoencoderKL:
    torch.manual_seed(1)
    return AutoencoderKL(**vae.config.autoencoder_kl_config()).eval()


def per_frame_decode(image_vae: AutoencoderKL, z: torch.Tensor) -> torch.Tensor:
    frames = z.permute(0, 2, 1, 3, 4).flatten(0, 1)
    with torch.no_grad():
        decoded = image_vae.decode(frames).sample
    return decoded.unflatten(0, (z.shape[0], z.shape[2])).permute(0, 2, 1, 3, 4)


def test_an_autoencoder_kl_loads_by_name_and_decodes_unchanged() -> None:
    vae = make_vae()
    image_vae = autoencoder_kl_like(vae)
    vae.load_autoencoder_kl_state_dict(image_vae.state_dict())
    z = latents(4)
    torch.testing.assert_close(decode(vae, z), per_frame_decode(image_vae, z), rtol=0, atol=1e-6)
    frames = example_encoder_inputs(vae.config, batch_size=2)["frames"]
    with torch.no_grad():
        expected = image_vae.encode(frames).latent_dist.parameters
        torch.testing.assert_close(vae.encode_for_export()(frames), expected, rtol=0, atol=0)


def test_switching_temporal_layers_off_is_the_per_frame_decoder() -> None:
    vae = trained_looking(make_vae(use_temporal_layers=False))
    image_vae = autoencoder_kl_like(vae)
    vae.load_autoencoder_kl_state_dict(image_vae.state_dict())
    z = latents(4)
    torch.testing.assert_close(decode(vae, z), per_frame_decode(image_vae, z), rtol=0, atol=1e-6)


def test_a_state_dict_of_another_config_is_refused() -> None:
    small = AutoencoderKL(**VideoVAEConfig.small().autoencoder_kl_config())
    with pytest.raises((ValueError, RuntimeError)):
        make_vae().load_autoencoder_kl_state_dict(small.state_dict())
    with pytest.raises(ValueError, match="unexpected"):
        make_vae().load_autoencoder_kl_state_dict({"decoder.extra.weight": torch.zeros(1)})


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    assert actual.shape == expected.shape
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def test_onnx_encoder_matches_pytorch_at_any_batch_and_size(tmp_path) -> None:
    encoder = make_vae().encode_for_export()
    path = tmp_path / "vae_encoder.onnx"
    torch.onnx.export(
        encoder,
        (example_encoder_inputs(encoder.vae.config)["frames"],),
        str(path),
        input_names=["frames"],
        output_names=["latent_parameters"],
        dynamic_axes={"frames": {0: "B", 2: "H", 3: "W"}, "latent_parameters": {0: "B", 2: "h", 3: "w"}},
        opset_version=18,
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for frames in (torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(1, 3, 96, 128) * 2 - 1):
        with torch.no_grad():
            expected = encoder(frames).numpy()
        (actual,) = session.run(None, {"frames": frames.numpy()})
        assert relative_error(actual, expected) <= 1e-4


def test_onnx_decoder_matches_pytorch_at_any_batch_and_frame_count(tmp_path) -> None:
    decoder = trained_looking(make_vae()).decoder_for_export()
    path = tmp_path / "vae_decoder.onnx"
    torch.onnx.export(
        decoder,
        (latents(5),),
        str(path),
        input_names=["latents"],
        output_names=["frames"],
        dynamic_axes={
            "latents": {0: "B", 2: "F", 3: "h", 4: "w"},
            "frames": {0: "B", 2: "F", 3: "H", 4: "W"},
        },
        opset_version=18,
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for z in (latents(5), torch.randn(2, 4, 16, 8, 8), torch.randn(1, 4, 11, 12, 16)):
        with torch.no_grad():
            expected = decoder(z).numpy()
        (actual,) = session.run(None, {"latents": z.numpy()})
        assert relative_error(actual, expected) <= 1e-4
