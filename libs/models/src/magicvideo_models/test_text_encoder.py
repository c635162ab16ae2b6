import numpy as np
import onnxruntime as ort
import pytest
import torch

from magicvideo_models.text_encoder import (
    TextEncoder,
    TextEncoderConfig,
    caption_states_repeated,
    example_inputs,
)
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


@pytest.fixture(scope="module")
def repeating_encoder(encoder: TextEncoder) -> TextEncoder:
    """The same weights, the caption's states repeated over the padding."""
    repeating = TextEncoder(TextEncoderConfig(repeat_caption_states=True)).eval()
    repeating.load_state_dict(encoder.state_dict())
    return repeating


def caption_lengths(input_ids: torch.Tensor, eos_token_id: int) -> list[int]:
    """BOS, the words and the first EOS."""
    return [int((row == eos_token_id).nonzero()[0]) + 1 for row in input_ids]


def test_the_padding_repeats_the_captions_own_states(
    encoder: TextEncoder, repeating_encoder: TextEncoder
) -> None:
    input_ids = example_inputs(encoder.config, batch_size=4)["input_ids"]
    with torch.no_grad():
        kept, repeated = encoder(input_ids), repeating_encoder(input_ids)
    lengths = caption_lengths(input_ids, encoder.config.eos_token_id)
    assert len(set(lengths)) > 1  # rows of different lengths
    for row, n in enumerate(lengths):
        torch.testing.assert_close(repeated[row, :n], kept[row, :n], rtol=0, atol=0)
        for position in range(n, input_ids.shape[1]):
            assert torch.equal(repeated[row, position], kept[row, position % n])
        # what it replaces: padding states that differ from every caption state
        assert (kept[row, n:].unsqueeze(1) - kept[row, :n].unsqueeze(0)).abs().amax(-1).min() > 1e-3


def test_attention_over_the_repeated_states_is_attention_over_the_caption() -> None:
    """When the caption's length divides L, every token appears L / n times, so softmax attention
    over the L states equals attention over the n caption states alone (a mask, without one)."""
    eos, length = 9, 12
    input_ids = torch.tensor([[8, 5, 6, eos] + [eos] * 8])  # n = 4
    states = torch.randn(1, length, 3, generator=torch.Generator().manual_seed(1))
    repeated = caption_states_repeated(states, input_ids, eos)
    query = torch.randn(1, 2, 3, generator=torch.Generator().manual_seed(2))
    over_all = torch.nn.functional.scaled_dot_product_attention(query, repeated, repeated)
    over_caption = torch.nn.functional.scaled_dot_product_attention(query, states[:, :4], states[:, :4])
    torch.testing.assert_close(over_all, over_caption)


def test_the_first_eos_ends_the_caption_and_a_row_without_one_is_kept_whole() -> None:
    eos = 9
    input_ids = torch.tensor([[8, 5, eos, 3, eos, eos], [8, eos, eos, eos, eos, eos], [8, 1, 2, 3, 4, 5]])
    states = torch.arange(6.0).view(1, 6, 1).expand(3, 6, 2)
    repeated = caption_states_repeated(states, input_ids, eos)
    assert repeated[..., 0].tolist() == [[0, 1, 2, 0, 1, 2], [0, 1, 0, 1, 0, 1], [0, 1, 2, 3, 4, 5]]


@pytest.mark.parametrize("repeat_caption_states", [False, True])
def test_onnx_export_matches_pytorch_at_any_batch_size(
    encoder: TextEncoder, repeating_encoder: TextEncoder, repeat_caption_states: bool, tmp_path
) -> None:
    encoder = repeating_encoder if repeat_caption_states else encoder
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
