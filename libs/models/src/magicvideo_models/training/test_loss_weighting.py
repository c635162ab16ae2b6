import pytest
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

from magicvideo_models.training.loss_weighting import min_snr_weights, weighted_mse


def alphas() -> torch.Tensor:
    return DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012).alphas_cumprod


def test_gamma_zero_is_plain_mse() -> None:
    prediction, target = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    weights = min_snr_weights(alphas(), torch.tensor([0, 10, 500, 999]), 0.0)
    assert torch.equal(weights, torch.ones(4))
    assert torch.allclose(weighted_mse(prediction, target, weights), F.mse_loss(prediction, target))


def test_easy_high_snr_steps_are_weighted_down_and_hard_ones_kept() -> None:
    alpha_bar = alphas()
    timesteps = torch.arange(1000)
    weights = min_snr_weights(alpha_bar, timesteps, 5.0)
    snr = alpha_bar / (1 - alpha_bar)
    assert torch.all(weights[snr <= 5] == 1)  # low SNR: full weight
    high = snr > 5
    assert torch.allclose(weights[high].double(), (5 / snr[high]).double(), rtol=1e-5)
    assert torch.all(weights[1:] >= weights[:-1])  # monotone in t: later (noisier) never lighter
    assert weights[0] < 0.01


def test_weights_scale_each_example_by_its_own_error() -> None:
    prediction = torch.zeros(2, 4)
    target = torch.stack([torch.ones(4), 2 * torch.ones(4)])  # per-example MSE 1 and 4
    loss = weighted_mse(prediction, target, torch.tensor([0.5, 0.25]))
    assert loss.item() == pytest.approx((0.5 * 1 + 0.25 * 4) / 2)


def test_negative_gamma_is_refused() -> None:
    with pytest.raises(ValueError, match="gamma"):
        min_snr_weights(alphas(), torch.tensor([1]), -1.0)
