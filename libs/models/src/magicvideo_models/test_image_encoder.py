import numpy as np
import onnxruntime as ort
import pytest
import torch

from magicvideo_models.image_encoder import (
    IMAGE_MEAN,
    IMAGE_STD,
    ImageEncoder,
    ImageEncoderConfig,
    example_inputs,
    pixel_values_from_frames,
)


@pytest.fixture(scope="module")
def encoder() -> ImageEncoder:
    torch.manual_seed(0)
    return ImageEncoder(ImageEncoderConfig.tiny()).eval()


def test_embeds_each_image_into_e_numbers(encoder: ImageEncoder) -> None:
    inputs = example_inputs(encoder.config, batch_size=3)
    assert list(inputs) == ["pixel_values"]
    assert inputs["pixel_values"].shape == (3, 3, 64, 64)
    with torch.no_grad():
        embeds = encoder(**inputs)
    assert embeds.shape == (3, 128)
    assert torch.isfinite(embeds).all()
    assert (embeds[0] - embeds[1]).abs().max() > 1e-4


def test_frames_are_normalised_with_clips_statistics() -> None:
    grey = torch.zeros(1, 3, 64, 64)  # 0 in [-1, 1] is 0.5 in [0, 1]
    pixel_values = pixel_values_from_frames(grey, 64)
    expected = [(0.5 - m) / s for m, s in zip(IMAGE_MEAN, IMAGE_STD, strict=True)]
    torch.testing.assert_close(pixel_values[0, :, 0, 0], torch.tensor(expected))


def test_frames_of_another_size_are_resized_to_the_encoders() -> None:
    assert pixel_values_from_frames(torch.zeros(2, 3, 128, 96), 64).shape == (2, 3, 64, 64)


def test_onnx_export_matches_pytorch_at_any_batch_size(encoder: ImageEncoder, tmp_path) -> None:
    path = tmp_path / "image_encoder.onnx"
    torch.onnx.export(
        encoder,
        (example_inputs(encoder.config, batch_size=2)["pixel_values"],),
        str(path),
        input_names=["pixel_values"],
        output_names=["image_embeds"],
        dynamic_axes={"pixel_values": {0: "B"}, "image_embeds": {0: "B"}},
        opset_version=18,
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch_size in (1, 3):
        pixel_values = example_inputs(encoder.config, batch_size)["pixel_values"]
        with torch.no_grad():
            expected = encoder(pixel_values).numpy()
        (actual,) = session.run(None, {"pixel_values": pixel_values.numpy()})
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() / np.abs(expected).max() <= 1e-4
