import pytest
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

from magicvideo_models.training.loss_weighting import (
    clean_from_epsilon,
    clean_sample_weights,
    min_snr_weights,
    weighted_mse,
)


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


def test_a_floor_keeps_the_clean_sample_error_weighed_at_every_step() -> None:
    alpha_bar = alphas()
    timesteps = torch.arange(1000)
    snr = (alpha_bar / (1 - alpha_bar)).double()
    floored = min_snr_weights(alpha_bar, timesteps, 5.0, floor=1.0).double()
    # ‖ε − ε̂‖² = SNR·‖x0 − x̂0‖², so weight·SNR is the weight of the clean-sample error
    x0_weight = floored * snr
    assert torch.allclose(x0_weight, snr.clamp(1.0, 5.0), rtol=1e-5)
    plain = min_snr_weights(alpha_bar, timesteps, 5.0).double()
    assert torch.equal(floored[snr >= 1], plain[snr >= 1])  # above the floor: min-SNR unchanged
    assert torch.all(floored[snr < 1] > plain[snr < 1])  # below it: the noisy steps weigh more
    assert floored[-1] > 100  # t = 999: SNR ≈ 0.005
    assert torch.equal(
        min_snr_weights(alpha_bar, timesteps, 5.0, floor=0.0), min_snr_weights(alpha_bar, timesteps, 5.0)
    )


def test_a_floor_without_a_cap_weighs_the_clean_sample_error_by_max_snr_floor() -> None:
    alpha_bar = alphas()
    snr = (alpha_bar / (1 - alpha_bar)).double()
    weights = min_snr_weights(alpha_bar, torch.arange(1000), 0.0, floor=1.0).double()
    assert torch.allclose(weights * snr, snr.clamp(min=1.0), rtol=1e-5)


def test_a_floor_outside_zero_to_gamma_is_refused() -> None:
    with pytest.raises(ValueError, match="floor"):
        min_snr_weights(alphas(), torch.tensor([1]), 5.0, floor=-0.5)
    with pytest.raises(ValueError, match="floor"):
        min_snr_weights(alphas(), torch.tensor([1]), 5.0, floor=6.0)


def test_the_clean_sample_implied_by_the_true_noise_is_the_clean_sample() -> None:
    generator = torch.Generator().manual_seed(0)
    clean = torch.randn(6, 4, 3, 8, 8, generator=generator)
    noise = torch.randn(clean.shape, generator=generator)
    timesteps = torch.tensor([0, 1, 250, 500, 900, 999])
    scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    noisy = scheduler.add_noise(clean, noise, timesteps)

    torch.testing.assert_close(
        clean_from_epsilon(alphas(), noisy, noise, timesteps), clean, atol=2e-4, rtol=0
    )


@pytest.mark.parametrize(("gamma", "floor"), [(0.0, 0.0), (5.0, 0.0), (5.0, 1.0)])
def test_clean_sample_weights_weigh_the_clean_error_as_min_snr_weighs_the_noise_error(
    gamma: float, floor: float
) -> None:
    # ‖ε − ε̂‖² = SNR_t·‖x0 − x̂0‖², so both weighted losses are the same number
    generator = torch.Generator().manual_seed(1)
    clean = torch.randn(4, 4, 3, 8, 8, generator=generator)
    noise = torch.randn(clean.shape, generator=generator)
    predicted = noise + 0.1 * torch.randn(clean.shape, generator=generator)
    timesteps = torch.tensor([3, 200, 600, 999])
    table = alphas()
    noisy = (
        torch.sqrt(table[timesteps]).view(-1, 1, 1, 1, 1) * clean
        + torch.sqrt(1 - table[timesteps]).view(-1, 1, 1, 1, 1) * noise
    )
    predicted_clean = clean_from_epsilon(table, noisy, predicted, timesteps)

    on_noise = weighted_mse(predicted, noise, min_snr_weights(table, timesteps, gamma, floor))
    on_clean = weighted_mse(predicted_clean, clean, clean_sample_weights(table, timesteps, gamma, floor))
    assert float(on_clean) == pytest.approx(float(on_noise), rel=1e-3)
