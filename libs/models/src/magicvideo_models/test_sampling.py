import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from onnx import TensorProto, helper

from magicvideo_models.noise import NoisePurpose, seeded_gaussian_tensor, stream_id
from magicvideo_models.sampling import (
    SAMPLER_NAMES,
    SR_STREAMS,
    classifier_free_guidance,
    ddpm_step_with_noise,
    make_scheduler,
    onnx_denoiser,
    sample,
)

SHAPE = (1, 4, 3, 4, 4)  # [B, C, F, h, w]
SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
    "steps_offset": 1,
    "clip_sample": False,
    "set_alpha_to_one": True,
}


def oracle_denoiser(x0: torch.Tensor, prediction_type: str = "epsilon"):
    """Returns the true noise (or v) of a sample that came from ``x0``: a perfect model.

    Works at fractional timesteps too (Euler), interpolating sigma as EulerDiscreteScheduler does.
    """
    alphas_cumprod = DDPMScheduler.from_config(SCHEDULER_CONFIG).alphas_cumprod.double().numpy()
    train_sigmas = np.sqrt((1 - alphas_cumprod) / alphas_cumprod)

    def denoise(*, sample: torch.Tensor, timestep: torch.Tensor, **_inputs: torch.Tensor) -> torch.Tensor:
        sigma = np.interp(float(timestep[0]), np.arange(len(train_sigmas)), train_sigmas)
        alpha_bar = 1.0 / (1.0 + sigma**2)
        x = sample.double()
        epsilon = (x - alpha_bar**0.5 * x0) / (1 - alpha_bar) ** 0.5
        if prediction_type == "v_prediction":
            return (alpha_bar**0.5 * epsilon - (1 - alpha_bar) ** 0.5 * x0).float()
        return epsilon.float()

    return denoise


def text_denoiser(*, sample: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor, **_):
    """A model whose prediction depends on the sample, the timestep and the text condition."""
    text = encoder_hidden_states.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)
    return 0.1 * sample + text + 1e-4 * timestep.view(-1, 1, 1, 1, 1)


def run(sampler="ddim", seed=7, guidance_scale=1.0, uncond=True, **kwargs):
    cond = {"encoder_hidden_states": torch.full((1, 5, 8), 0.3)}
    arguments = {
        "sampler": sampler,
        "steps": 6,
        "guidance_scale": guidance_scale,
        "seed": seed,
        "shape": SHAPE,
        "scheduler_config": SCHEDULER_CONFIG,
    } | kwargs
    denoise = arguments.pop("denoise", text_denoiser)
    return sample(
        denoise, cond, {"encoder_hidden_states": torch.zeros(1, 5, 8)} if uncond else None, **arguments
    )


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_recovers_x0_when_the_model_returns_the_true_noise(sampler, prediction_type):
    x0 = torch.linspace(-1, 1, int(np.prod(SHAPE))).reshape(SHAPE)
    config = SCHEDULER_CONFIG | {"prediction_type": prediction_type}
    result = sample(
        oracle_denoiser(x0, prediction_type),
        {},
        sampler=sampler,
        steps=8,
        guidance_scale=1.0,
        seed=3,
        shape=SHAPE,
        scheduler_config=config,
    )
    torch.testing.assert_close(result, x0, atol=2e-3, rtol=0)


def test_initial_latents_are_the_seeded_stream_scaled_by_init_noise_sigma():
    seen = []

    def recording(*, sample, timestep, **inputs):
        seen.append(sample.clone())
        return torch.zeros_like(sample)

    run(sampler="euler", denoise=recording, seed=11)
    scheduler = make_scheduler("euler", SCHEDULER_CONFIG)
    scheduler.set_timesteps(6)
    expected = seeded_gaussian_tensor(11, stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS), SHAPE)
    expected = scheduler.scale_model_input(expected * scheduler.init_noise_sigma, scheduler.timesteps[0])
    torch.testing.assert_close(seen[0], expected, atol=0, rtol=0)


def test_guidance_batches_uncond_first_then_cond_in_one_call():
    calls = []

    def recording(*, sample, timestep, encoder_hidden_states, fps):
        calls.append(
            (sample.shape[0], encoder_hidden_states[:, 0, 0].tolist(), fps.tolist(), timestep.tolist())
        )
        return torch.zeros_like(sample)

    run(denoise=recording, guidance_scale=7.5, shared={"fps": torch.tensor([8.0])})
    assert len(calls) == 6
    batch, text, fps, timesteps = calls[0]
    assert batch == 2
    assert text == pytest.approx([0.0, 0.3])  # uncond, cond
    assert fps == [8.0, 8.0]
    assert timesteps[0] == timesteps[1] == 831.0  # "leading" spacing, 6 steps: 5 * (1000 // 6) + steps_offset


def test_guided_prediction_moves_from_uncond_past_cond():
    uncond, cond = torch.tensor([1.0]), torch.tensor([3.0])
    assert classifier_free_guidance(uncond, cond, 1.0).item() == 3.0
    assert classifier_free_guidance(uncond, cond, 0.0).item() == 1.0
    assert classifier_free_guidance(uncond, cond, 7.5).item() == 16.0


def test_guidance_scale_1_equals_the_cond_only_prediction():
    torch.testing.assert_close(run(guidance_scale=1.0), run(guidance_scale=1.0, uncond=False), atol=0, rtol=0)
    assert not torch.equal(run(guidance_scale=3.0), run(guidance_scale=1.0, uncond=False))


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_same_seed_same_video_different_seed_different_video(sampler):
    first = run(sampler=sampler, seed=5, guidance_scale=4.0)
    assert torch.equal(first, run(sampler=sampler, seed=5, guidance_scale=4.0))
    assert not torch.allclose(first, run(sampler=sampler, seed=6, guidance_scale=4.0), atol=1e-3)


def test_ddpm_with_injected_noise_equals_diffusers_generator_path():
    scheduler = DDPMScheduler.from_config(SCHEDULER_CONFIG)
    scheduler.set_timesteps(10)
    latents = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1))
    model_output = torch.randn(SHAPE, generator=torch.Generator().manual_seed(2))
    timestep = scheduler.timesteps[3]
    generator = torch.Generator().manual_seed(9)
    noise = torch.randn(SHAPE, generator=torch.Generator().set_state(generator.get_state()))
    expected = scheduler.step(model_output, timestep, latents, generator=generator).prev_sample
    actual = ddpm_step_with_noise(scheduler, model_output, timestep, latents, noise)
    torch.testing.assert_close(actual, expected, atol=0, rtol=0)
    assert not torch.equal(actual, ddpm_step_with_noise(scheduler, model_output, timestep, latents, -noise))


def test_ddpm_step_noise_comes_from_the_step_stream_of_each_step():
    steps = 4
    scheduler = DDPMScheduler.from_config(SCHEDULER_CONFIG)
    scheduler.set_timesteps(steps)
    latents = seeded_gaussian_tensor(21, stream_id(NoisePurpose.SR_INITIAL_NOISE), SHAPE)
    for step_number, timestep in enumerate(scheduler.timesteps):
        output = 0.1 * latents
        noise = seeded_gaussian_tensor(21, stream_id(NoisePurpose.SR_STEP_NOISE, step_number), SHAPE)
        latents = ddpm_step_with_noise(scheduler, output, timestep, latents, noise)

    def sr_model(*, sample, timestep):
        return 0.1 * sample

    result = sample(
        sr_model, {}, sampler="ddpm", steps=steps, guidance_scale=0, seed=21, shape=SHAPE,
        scheduler_config=SCHEDULER_CONFIG, streams=SR_STREAMS,
    )  # fmt: skip
    torch.testing.assert_close(result, latents, atol=0, rtol=0)


def test_ddim_with_eta_draws_each_steps_noise_from_its_stream():
    steps, seed, eta = 5, 13, 0.7
    scheduler = DDIMScheduler.from_config(SCHEDULER_CONFIG)
    scheduler.set_timesteps(steps)
    cond = {"encoder_hidden_states": torch.full((1, 5, 8), 0.3)}
    latents = seeded_gaussian_tensor(seed, stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS), SHAPE)
    for step_number, timestep in enumerate(scheduler.timesteps):
        output = text_denoiser(sample=latents, timestep=torch.tensor([float(timestep)]), **cond)
        noise = seeded_gaussian_tensor(seed, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, step_number), SHAPE)
        latents = scheduler.step(output, timestep, latents, eta=eta, variance_noise=noise).prev_sample
    result = run(sampler="ddim", steps=steps, seed=seed, eta=eta, uncond=False)
    torch.testing.assert_close(result, latents, atol=0, rtol=0)
    assert not torch.allclose(result, run(sampler="ddim", steps=steps, seed=seed, uncond=False), atol=1e-3)


def test_dpmpp_2m_is_configured_as_dpm_solver_plus_plus_second_order():
    scheduler = make_scheduler("dpmpp-2m", SCHEDULER_CONFIG | {"algorithm_type": "dpmsolver"})
    assert scheduler.config.algorithm_type == "dpmsolver++"
    assert scheduler.config.solver_order == 2
    with pytest.raises(ValueError, match="unknown sampler"):
        make_scheduler("heun", SCHEDULER_CONFIG)


def test_an_onnx_session_samples_like_the_torch_model_it_encodes(tmp_path):
    """A tiny ONNX graph of ``text_denoiser`` with an int64 timestep: same sampler, same result."""
    batch = lambda *dims: ["B", *dims]  # noqa: E731
    inputs = [
        helper.make_tensor_value_info("sample", TensorProto.FLOAT, batch(4, "F", "h", "w")),
        helper.make_tensor_value_info("timestep", TensorProto.INT64, batch()),
        helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT, batch(5, 8)),
        helper.make_tensor_value_info("fps", TensorProto.FLOAT, batch()),
    ]
    initializers = [
        helper.make_tensor("tenth", TensorProto.FLOAT, [], [0.1]),
        helper.make_tensor("time_scale", TensorProto.FLOAT, [], [1e-4]),
        helper.make_tensor("column", TensorProto.INT64, [5], [-1, 1, 1, 1, 1]),
        helper.make_tensor("text_axes", TensorProto.INT64, [2], [1, 2]),
    ]
    nodes = [
        helper.make_node("Mul", ["sample", "tenth"], ["scaled"]),
        helper.make_node("ReduceMean", ["encoder_hidden_states", "text_axes"], ["text"], keepdims=0),
        helper.make_node("Reshape", ["text", "column"], ["text_column"]),
        helper.make_node("Cast", ["timestep"], ["timestep_float"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["timestep_float", "time_scale"], ["time"]),
        helper.make_node("Reshape", ["time", "column"], ["time_column"]),
        helper.make_node("Add", ["scaled", "text_column"], ["with_text"]),
        helper.make_node("Add", ["with_text", "time_column"], ["out_sample"]),
    ]
    output = helper.make_tensor_value_info("out_sample", TensorProto.FLOAT, batch(4, "F", "h", "w"))
    graph = helper.make_graph(nodes, "unet", inputs, [output], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp_path / "model.onnx"))
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])

    fps = {"fps": torch.tensor([8.0])}
    from_onnx = run(denoise=onnx_denoiser(session), guidance_scale=5.0, shared=fps)
    from_torch = run(denoise=text_denoiser, guidance_scale=5.0, shared=fps)
    torch.testing.assert_close(from_onnx, from_torch, atol=1e-5, rtol=1e-5)
