import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from magicvideo_models import bench_keyframes
from magicvideo_models.matmul_model import INPUT_NAME, matmul_flops, matmul_model
from magicvideo_models.model_folder import export_model_folder
from magicvideo_models.parity_vectors import PARITY_PROMPT, ParityCase, build_vectors

SHIPPED_FOLDER = Path(__file__).resolve().parents[4] / "assets" / "models" / "magicvideo-shapes"


def test_one_step_on_tiny_prints_a_setup_and_a_run_record(capsys: pytest.CaptureFixture[str]) -> None:
    bench_keyframes.main(
        ["--models", str(SHIPPED_FOLDER), "--steps", "1", "--threads", "1", "--repeats", "1"]
    )
    setup, run = (json.loads(line) for line in capsys.readouterr().out.splitlines())

    assert setup["kind"] == "setup"
    assert setup["config"] == "tiny"
    assert setup["request"]["steps"] == 1
    assert setup["latent_shape"] == [1, 4, 16, 8, 8]
    flops = setup["unet_flops_per_call"]
    # a batch is that many independent videos: twice the work, up to rounding of nothing
    assert flops["2"] == 2 * flops["1"] > 0

    assert run["kind"] == "run"
    assert run["unet_calls"] == 1
    assert run["unet_batch"] == 2  # classifier-free guidance: [uncond, cond] in one call
    assert 0 < run["unet_seconds"] <= run["keyframes_seconds"]
    assert run["seconds_per_unet_call"] == pytest.approx(run["unet_seconds"])
    assert len(run["latents_head"]) == bench_keyframes.LATENTS_HEAD


def test_pytorch_samples_what_the_folders_onnx_models_sample(tmp_path: Path) -> None:
    # Same weights (seed 0, float16-rounded), tokenizer, noise and sampler as a folder exported
    # from seed 0: the PyTorch run must land on the ONNX reference sampler's latents, or the
    # timing compares two different computations.
    folder = export_model_folder("tiny", seed=0, out_dir=tmp_path, compare_with_pytorch=False).folder
    bench = bench_keyframes.KeyframeBench(folder, weights_seed=0)
    request = bench_keyframes.KeyframeRequest(
        prompt="a red circle moving right",
        negative_prompt="blurry",
        seed=1234,
        steps=2,
        guidance_scale=7.5,
        sampler="ddim",
        fps=8.0,
    )
    assert (request.prompt, request.negative_prompt, request.seed) == (
        PARITY_PROMPT.prompt,
        PARITY_PROMPT.negative_prompt,
        PARITY_PROMPT.seed,
    )
    tensors, _ = build_vectors(folder, (ParityCase("ddim", "ddim", 2, 7.5),))
    onnx_latents = tensors["latents.ddim"].ravel()
    run = bench.run(request)
    head = np.array(run.latents_head)
    scale = np.abs(onnx_latents).max()
    assert np.abs(head - onnx_latents[: bench_keyframes.LATENTS_HEAD]).max() / scale < 1e-4
    onnx_rms = float(np.sqrt(np.mean(onnx_latents.astype(np.float64) ** 2)))
    assert run.latents_rms == pytest.approx(onnx_rms, rel=1e-4)


def test_matmul_model_multiplies_by_its_weights() -> None:
    model = matmul_model(8, 16, 4, seed=3)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    activations = np.eye(8, 16, dtype=np.float32)
    (product,) = session.run(None, {INPUT_NAME: activations})
    weights = np.frombuffer(model.graph.initializer[0].raw_data, dtype=np.float32).reshape(16, 4)
    np.testing.assert_allclose(product, weights[:8], rtol=1e-6)
    assert matmul_flops(8, 16, 4) == 2 * 8 * 16 * 4
