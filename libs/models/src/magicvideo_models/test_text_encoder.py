import numpy as np
import onnxruntime as ort
import pytest
import torch

from magicvideo_models.text_encoder import TextEncoder, TextEncoderConfig, example_inputs
from magicvideo_models.tokenizer import build_tokenizer


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    torch.manual_seed(0)
    return TextEncoder(TextEncoderConfig.tiny()).eval()


def test_encodes_77_tokens_to_77_states_of_width_d(encoder: TextEncoder) -> None:
    inputs = example_inputs(encoder.config, batch_size=3)
    assert list(inputs) == ["input_ids"]
    with torch.no_grad():
        states = encoder(**inputs)
    assert states.shape == (3, 77, 128)
    assert torch.isfinite(states).all()


def test_tiny_vocabulary_is_the_tokenizers(encoder: TextEncoder) -> None:
    tokenizer = build_tokenizer()
    assert encoder.config.vocab_size == tokenizer.get_vocab_size()
    assert encoder.config.bos_token_id == tokenizer.token_to_id("<|startoftext|>")
    assert encoder.config.eos_token_id == tokenizer.token_to_id("<|endoftext|>")


def test_a_token_only_changes_the_states_at_and_after_it(encoder: TextEncoder) -> None:
    input_ids = example_inputs(encoder.config)["input_ids"]
    changed = input_ids.clone()
    changed[0, 3] = (changed[0, 3] + 1) % 256 + 256
    with torch.no_grad():
        before, after = encoder(input_ids), encoder(changed)
    torch.testing.assert_close(after[:, :3], before[:, :3], rtol=0, atol=0)
    assert (after[:, 3] - before[:, 3]).abs().max() > 1e-3


def test_onnx_export_matches_pytorch_at_any_batch_size(encoder: TextEncoder, tmp_path) -> None:
    path = tmp_path / "text_encoder.onnx"
    torch.onnx.export(
        encoder,
        (example_inputs(encoder.config, batch_size=2)["input_ids"],),
        str(path),
        input_names=["input_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "B"}, "last_hidden_state": {0: "B"}},
        opset_version=18,
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch_size in (1, 3):
        input_ids = example_inputs(encoder.config, batch_size)["input_ids"]
        with torch.no_grad():
            expected = encoder(input_ids).numpy()
        (actual,) = session.run(None, {"input_ids": input_ids.numpy()})
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() / np.abs(expected).max() <= 1e-4
