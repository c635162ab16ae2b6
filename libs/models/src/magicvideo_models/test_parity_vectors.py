import json
from dataclasses import asdict
from pathlib import Path

import torch

from magicvideo_models.noise import NoisePurpose, seeded_gaussian_tensor, stream_id
from magicvideo_models.parity_vectors import (
    DIGESTED_FILES,
    FIXTURE_CASES,
    FIXTURE_DIR,
    FIXTURE_TENSORS,
    PARITY_CASES,
    PARITY_PROMPT,
    REFRESH_COMMAND,
    SHIPPED_FOLDER,
    ParityCase,
    folder_digest,
    sdedit_sample,
    write_vectors,
)
from magicvideo_models.sampling import make_scheduler

SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
    "steps_offset": 1,
    "clip_sample": False,
    "set_alpha_to_one": False,
}


def test_parity_command_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    cases = (ParityCase("ddpm", "ddpm", 2, 7.5), ParityCase("sdedit-euler", "euler", 2, 7.5, strength=0.5))
    write_vectors(SHIPPED_FOLDER, tmp_path / "first", cases)
    write_vectors(SHIPPED_FOLDER, tmp_path / "second", cases)
    for name in (FIXTURE_TENSORS, FIXTURE_CASES):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


def test_sdedit_with_the_true_noise_lands_on_the_init_latents_at_the_final_alpha() -> None:
    # A denoiser that predicts exactly the SDEdit noise makes every DDIM step's x0 estimate the
    # init latents, so the result is them noised to the final alpha: proves the driver noises
    # with the SDEdit stream at the first timestep it runs, and steps from there.
    seed, shape = 3, (1, 2, 3, 4, 4)
    init = seeded_gaussian_tensor(11, stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS, 0), shape)
    noise = seeded_gaussian_tensor(seed, stream_id(NoisePurpose.SDEDIT_NOISE, 0), shape)

    def true_noise(*, sample: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:
        return noise.repeat(sample.shape[0], 1, 1, 1, 1)

    cond = torch.zeros(1, 4, 8)
    latents = sdedit_sample(
        true_noise,
        cond,
        cond,
        sampler="ddim",
        steps=10,
        strength=0.6,
        guidance_scale=7.5,
        seed=seed,
        init_latents=init,
        scheduler_config=SCHEDULER_CONFIG,
        fps=8.0,
    )
    final_alpha = make_scheduler("ddim", SCHEDULER_CONFIG).final_alpha_cumprod
    expected = final_alpha.sqrt() * init + (1 - final_alpha).sqrt() * noise
    torch.testing.assert_close(latents, expected, rtol=1e-5, atol=1e-5)


def test_folder_digest_changes_with_any_digested_file(tmp_path: Path) -> None:
    for name in DIGESTED_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"bytes of " + name.encode())
    before = folder_digest(tmp_path)
    (tmp_path / "unet" / "model.onnx").write_bytes(b"re-exported")
    assert folder_digest(tmp_path) != before


def test_the_committed_fixture_is_the_fixtures_command_output_for_the_shipped_folder() -> None:
    # `npm run fixtures:models` writes this description; a re-exported folder or changed cases
    # without a refresh leave it behind (the vectors themselves are checked by the runtime's spec
    # and evaluation/test_onnx_pipeline.py)
    committed = json.loads((FIXTURE_DIR / FIXTURE_CASES).read_text())
    assert committed["refresh"] == REFRESH_COMMAND
    stale = f"the fixture is stale; run {REFRESH_COMMAND}"
    assert committed["folder_sha256"] == folder_digest(SHIPPED_FOLDER), stale
    assert committed["prompt"] == asdict(PARITY_PROMPT)
    assert committed["cases"] == [asdict(case) for case in PARITY_CASES]
