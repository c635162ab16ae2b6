"""The text encoder: transformers' CLIP text transformer with a small config (DESIGN.md §5).

input_ids [B, 77] int64 → last_hidden_state [B, 77, D], the states the key-frame U-Net's
cross-attention reads (paper eq. 3). CLIP's causal mask is kept: the state at a position sees
only the tokens before it, so the <|endoftext|> padding after the caption (tokenizer.py) can
never change the caption's states.

`base` is the text tower of OpenAI CLIP ViT-L/14, the one Stable Diffusion 1.x conditions on,
so its weights load into `TextEncoder.clip` by name (`CLIPTextModel.load_state_dict`); its
vocabulary (49408) is CLIP's, to go with CLIP's own tokenizer. `tiny` and `small` use the
project's tokenizer (tokenizer.DEFAULT_VOCAB_SIZE), whose BOS and EOS are its last two ids.

Attention runs through PyTorch's scaled_dot_product_attention ("sdpa"). transformers 5.24 does not
need the "eager" implementation for export: with sdpa both the TorchScript exporter
(dynamo=False, the project's) and the torch.export one (dynamo=True) give a graph within 1e-6 of
PyTorch at any batch size (test_text_encoder.py checks the TorchScript one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel

from magicvideo_models.tokenizer import DEFAULT_VOCAB_SIZE, MAX_LENGTH, bos_token_id, eos_token_id

CLIP_VOCAB_SIZE = 49408


@dataclass(frozen=True)
class TextEncoderConfig:
    vocab_size: int = DEFAULT_VOCAB_SIZE
    hidden_size: int = 128  # D, the U-Net's cross_attention_dim
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = MAX_LENGTH
    hidden_act: str = "quick_gelu"  # CLIP's
    # Fill the positions after the first EOS (the padding) with the caption's own states, BOS …
    # EOS repeated. Under the causal mask each padding state summarises the whole caption, and a
    # U-Net reading those 70-odd summaries learns captions as wholes: it then draws a held-out
    # combination as its nearest seen caption (docs/design-notes.md, "The key-frame U-Net read
    # its captions from the padding"). Repeated, every key is one of the caption's tokens, about
    # equally often, so the U-Net's attention weighs them as attention masked to the caption
    # would, with no mask input (zeroed padding instead is a sink that drowns the words).
    repeat_caption_states: bool = False

    @classmethod
    def tiny(cls) -> TextEncoderConfig:
        return cls()

    @classmethod
    def small(cls) -> TextEncoderConfig:
        return cls(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)

    @classmethod
    def base(cls) -> TextEncoderConfig:
        """CLIP ViT-L/14's text tower (Stable Diffusion 1.x)."""
        return cls(
            vocab_size=CLIP_VOCAB_SIZE,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
        )

    @property
    def bos_token_id(self) -> int:
        return bos_token_id(self.vocab_size)

    @property
    def eos_token_id(self) -> int:
        return eos_token_id(self.vocab_size)

    def to_clip_config(self) -> CLIPTextConfig:
        config = CLIPTextConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            max_position_embeddings=self.max_position_embeddings,
            hidden_act=self.hidden_act,
            # pooler_output picks the first EOS; padding is EOS too (tokenizer.py)
            bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id,
            pad_token_id=self.eos_token_id,
        )
        config._attn_implementation = "sdpa"
        return config


class TextEncoder(nn.Module):
    """input_ids [B, 77] → last_hidden_state [B, 77, D]. The CLIP model is `.clip`; contrastive
    training reads its `pooler_output` (the EOS state)."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.clip = CLIPTextModel(config.to_clip_config())

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        states = self.clip(input_ids=input_ids).last_hidden_state
        if self.config.repeat_caption_states:
            return caption_states_repeated(states, input_ids, self.config.eos_token_id)
        return states


def caption_states_repeated(states: torch.Tensor, input_ids: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """states [B, L, D] with position p holding the state at p mod n, n = the row's first EOS
    index + 1 (BOS, the words, that EOS; L when a truncated row has no EOS). Exports to ONNX:
    argmax keeps the first of equal values in both, then a gather."""
    length = input_ids.shape[1]
    is_eos = (input_ids == eos_token_id).to(torch.int64)
    caption_length = torch.where(is_eos.amax(dim=1) > 0, is_eos.argmax(dim=1) + 1, length)
    positions = torch.arange(length, device=input_ids.device).unsqueeze(0) % caption_length.unsqueeze(1)
    return torch.gather(states, 1, positions.unsqueeze(-1).expand(-1, -1, states.shape[-1]))


def example_inputs(config: TextEncoderConfig, batch_size: int = 1) -> dict[str, torch.Tensor]:
    """Token ids shaped like the tokenizer's: BOS, a few word ids, EOS, EOS padding."""
    generator = torch.Generator().manual_seed(0)
    shape = (batch_size, config.max_position_embeddings)
    input_ids = torch.full(shape, config.eos_token_id, dtype=torch.int64)
    input_ids[:, 0] = config.bos_token_id
    for row in range(batch_size):
        length = 4 + row % 6
        input_ids[row, 1 : 1 + length] = torch.randint(
            256, config.bos_token_id, (length,), generator=generator, dtype=torch.int64
        )
    return {"input_ids": input_ids}
