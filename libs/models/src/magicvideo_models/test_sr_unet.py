import dataclasses

import numpy as np
import onnxruntime as ort
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from torch.utils.flop_counter import FlopCounterMode

from magicvideo_models.model_set import ModelSetConfig
from magicvideo_models.sr_unet import SRUNet, SRUNetConfig, example_inputs, receptive_field_radius


def make_sr(**changes) -> SRUNet:
    torch.manual_seed(0)
    return SRUNet(dataclasses.replace(SRUNetConfig.tiny(), **changes)).eval()


def inputs_at(model: SRUNet, size: int, batch_size: int = 1) -> dict[str, torch.Tensor]:
    return example_inputs(dataclasses.replace(model.config, sample_size=size), batch_size)


def run(model: SRUNet, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs)


@pytest.fixture(scope="module")
def sr() -> SRUNet:
    return make_sr()


def test_denoises_a_256x256_frame_to_the_same_shape(sr: SRUNet) -> None:
    inputs = example_inputs(sr.config, batch_size=2)
    assert list(inputs) == ["sample", "low_res", "timestep", "noise_level"]
    assert inputs["sample"].shape == inputs["low_res"].shape == (2, 3, 256, 256)
    out = run(sr, inputs)
    assert out.shape == (2, 3, 256, 256)
    assert torch.isfinite(out).all()


def test_the_same_weights_run_on_a_64x64_crop_and_a_256x256_frame(sr: SRUNet) -> None:
    assert run(sr, inputs_at(sr, 64)).shape == (1, 3, 64, 64)
    assert run(sr, inputs_at(sr, 256)).shape == (1, 3, 256, 256)
    assert sr.config.size_multiple == 16


def test_the_timestep_changes_the_output(sr: SRUNet) -> None:
    inputs = inputs_at(sr, 64)
    later = {**inputs, "timestep": inputs["timestep"] + 100}
    assert (run(sr, later) - run(sr, inputs)).abs().max() > 1e-4


def test_the_noise_level_changes_the_output_when_embedded() -> None:
    sr = make_sr(use_noise_level_embedding=True)
    inputs = inputs_at(sr, 64)
    noisier = {**inputs, "noise_level": inputs["noise_level"] + 100}
    assert (run(sr, noisier) - run(sr, inputs)).abs().max() > 1e-4


def test_the_noise_level_is_ignored_when_the_embedding_is_off() -> None:
    sr = make_sr(use_noise_level_embedding=False)
    inputs = inputs_at(sr, 64)
    noisier = {**inputs, "noise_level": inputs["noise_level"] + 100}
    torch.testing.assert_close(run(sr, noisier), run(sr, inputs), rtol=0, atol=0)


def test_low_res_conditioning_changes_the_output(sr: SRUNet) -> None:
    inputs = inputs_at(sr, 64)
    other = {**inputs, "low_res": -inputs["low_res"]}
    assert (run(sr, other) - run(sr, inputs)).abs().max() > 1e-4


def test_tiny_costs_at_most_one_gflop_per_256x256_frame(sr: SRUNet) -> None:
    # the runtime budget: 61 frames x a few steps on 2 CPU cores (module docstring)
    with FlopCounterMode(display=False) as counter:
        run(sr, inputs_at(sr, 256))
    assert counter.get_total_flops() <= 1.0e9


def test_onnx_export_matches_pytorch_at_any_batch_and_size(sr: SRUNet, tmp_path) -> None:
    example = inputs_at(sr, 64, batch_size=2)
    path = tmp_path / "sr_unet.onnx"
    image_axes = {0: "B", 2: "H", 3: "W"}
    torch.onnx.export(
        sr,
        tuple(example.values()),
        str(path),
        input_names=list(example),
        output_names=["out_sample"],
        dynamic_axes={
            "sample": image_axes,
            "low_res": image_axes,
            "timestep": {0: "B"},
            "noise_level": {0: "B"},
            "out_sample": image_axes,
        },
        opset_version=18,
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch_size, size in ((1, 64), (3, 96), (1, 256)):
        inputs = inputs_at(sr, size, batch_size)
        expected = run(sr, inputs).numpy()
        (actual,) = session.run(None, {name: value.numpy() for name, value in inputs.items()})
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() / np.abs(expected).max() <= 1e-4


def test_outputs_depend_only_on_inputs_within_the_receptive_field() -> None:
    """The property the runtime's exact tiling rests on (module doc): a tile with the receptive
    field as halo, aligned to size_multiple, gives the whole frame's output in its interior."""
    config = SRUNetConfig(block_out_channels=(8, 16), sample_size=128)  # a small field, fast
    radius = receptive_field_radius(config)
    halo = -(-radius // config.size_multiple) * config.size_multiple
    torch.manual_seed(0)
    sr = SRUNet(config).eval()
    frame = inputs_at(sr, 2 * halo + 64)
    whole = run(sr, frame)
    tile = {
        name: value[..., 0 : 2 * halo + 32, 0 : 2 * halo + 32] if value.dim() == 4 else value
        for name, value in frame.items()
    }
    interior = slice(halo, halo + 32)
    torch.testing.assert_close(
        run(sr, tile)[..., interior, interior], whole[..., interior, interior], rtol=1e-5, atol=1e-5
    )
    narrower = {
        name: value[..., : halo + 32, : halo + 32] if value.dim() == 4 else value
        for name, value in frame.items()
    }
    assert (run(sr, narrower)[..., interior, interior] - whole[..., interior, interior]).abs().max() > 1e-4


def test_group_normalisation_makes_the_output_depend_on_the_whole_frame() -> None:
    with pytest.raises(ValueError, match="whole frame"):
        receptive_field_radius(SRUNetConfig(block_out_channels=(8, 16), normalization="group"))


@pytest.mark.parametrize("name", ["tiny", "small", "base"])
def test_the_module_schedule_is_the_model_sets_sr_scheduler(name: str) -> None:
    """The residual parametrisation converts x0 to the prediction with the module's own ᾱ: it
    must be the one the samplers step with."""
    model_set = ModelSetConfig.by_name(name)
    scheduler = DDPMScheduler.from_config(dataclasses.asdict(model_set.sr_scheduler))
    model = SRUNet(dataclasses.replace(model_set.sr_unet, block_out_channels=(4, 4, 4), norm_num_groups=4))
    assert torch.equal(model.alphas_cumprod, scheduler.alphas_cumprod)
    assert model_set.sr_unet.prediction_type == scheduler.config.prediction_type


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon", "sample"])
def test_the_scheduler_reads_back_the_modules_x0_estimate(prediction_type: str) -> None:
    sr = make_sr(prediction_type=prediction_type)
    scheduler = DDIMScheduler.from_config(
        {**dataclasses.asdict(ModelSetConfig.tiny().sr_scheduler), "prediction_type": prediction_type}
    )
    inputs = inputs_at(sr, 64, batch_size=3)
    inputs["timestep"] = torch.tensor([999.0, 500.0, 3.0])
    prediction = run(sr, inputs)
    with torch.no_grad():
        expected = sr.denoised(**inputs)
    for i, t in enumerate((999, 500, 3)):
        scheduler.set_timesteps(1000)  # prev of t is t − 1: pred_original_sample is the x0 read back
        step = scheduler.step(prediction[i : i + 1], t, inputs["sample"][i : i + 1])
        torch.testing.assert_close(step.pred_original_sample, expected[i : i + 1], rtol=1e-4, atol=2e-4)


def test_a_zero_residual_gives_the_low_res_frame_with_its_augmentation_noise_averaged_down() -> None:
    sr = make_sr()
    torch.nn.init.zeros_(sr.unet.conv_out.weight)
    torch.nn.init.zeros_(sr.unet.conv_out.bias)
    inputs = inputs_at(sr, 64, batch_size=2)
    generator = torch.Generator().manual_seed(1)
    clean = inputs["low_res"]
    noise = 0.1 * torch.randn(clean.shape, generator=generator)
    with torch.no_grad():
        estimate = sr.denoised(**{**inputs, "low_res": clean + noise})
    torch.testing.assert_close(estimate, sr.base(clean + noise), rtol=0, atol=0)
    # the base keeps a smooth frame and divides the noise's std by about the factor (4)
    remaining = (sr.base(clean + noise) - sr.base(clean)).std()
    assert 0.1 / 6 < remaining < 0.1 / 3
    assert (sr.base(clean) - clean)[..., 8:-8, 8:-8].abs().max() < 0.05


def test_the_direct_parametrisation_returns_the_networks_output() -> None:
    sr = make_sr(parametrisation="direct")
    inputs = inputs_at(sr, 64)
    with torch.no_grad():
        network = sr.depth_to_space(
            sr.unet(
                sr.space_to_depth(torch.cat([inputs["sample"], inputs["low_res"]], dim=1)),
                inputs["timestep"],
                class_labels=inputs["noise_level"],
            ).sample
        )
    torch.testing.assert_close(run(sr, inputs), network, rtol=0, atol=0)
    with pytest.raises(ValueError, match="residual"):
        sr.denoised(**inputs)
