import torch

from magicvideo_models.fps_embedding import FPSEmbedding


def test_adds_nothing_at_initialisation() -> None:
    embedding = FPSEmbedding(sinusoid_channels=16, embedding_dim=32)
    out = embedding(torch.tensor([4.0, 24.0]))
    assert out.shape == (2, 32)
    assert torch.count_nonzero(out) == 0


def test_different_frame_rates_give_different_embeddings_once_trained() -> None:
    torch.manual_seed(0)
    embedding = FPSEmbedding(sinusoid_channels=16, embedding_dim=32)
    torch.nn.init.normal_(embedding.mlp.linear_2.weight, std=0.1)
    out = embedding(torch.tensor([4.0, 8.0, 8.0]))
    assert (out[0] - out[1]).abs().max() > 1e-3
    torch.testing.assert_close(out[1], out[2])
