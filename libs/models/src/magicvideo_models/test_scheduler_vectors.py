import json
from pathlib import Path

import numpy as np
import pytest

from magicvideo_models.scheduler_vectors import (
    PREDICTION_TYPES,
    SCHEDULER_NAMES,
    SPACINGS,
    build_vectors,
    float32_number,
    main,
    to_json,
)

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "nx.json").exists())
COMMITTED_VECTORS = REPO_ROOT / "libs/diffusion/test/fixtures/scheduler-vectors.json"


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(COMMITTED_VECTORS.read_text(encoding="utf-8"))


def _assert_same_vectors(regenerated: object, committed: object, path: str = "$") -> None:
    """Equal structure, strings and integers; a vector of floats equal to float32 rounding, by the
    file's own relative metric (2e-6 of its largest entry): torch's vectorised kernels may round
    the last bit differently on another CPU's SIMD path, and a sampler's steps compound it. A
    stale file (another algorithm, another diffusers) differs by far more."""
    if isinstance(committed, dict):
        assert isinstance(regenerated, dict) and regenerated.keys() == committed.keys(), path
        for key in committed:
            _assert_same_vectors(regenerated[key], committed[key], f"{path}.{key}")
    elif isinstance(committed, list) and committed and all(isinstance(v, float) for v in committed):
        assert isinstance(regenerated, list) and len(regenerated) == len(committed), path
        tolerance = 2e-6 * max(max(abs(v) for v in committed), 1.0)
        worst = max(abs(float(new) - old) for new, old in zip(regenerated, committed, strict=True))
        assert worst <= tolerance, f"{path}: differs by {worst} > {tolerance}"
    elif isinstance(committed, list):
        assert isinstance(regenerated, list) and len(regenerated) == len(committed), path
        for index, (new, old) in enumerate(zip(regenerated, committed, strict=True)):
            _assert_same_vectors(new, old, f"{path}[{index}]")
    elif isinstance(committed, float):
        tolerance = 2e-6 * max(abs(committed), 1.0)
        assert abs(float(regenerated) - committed) <= tolerance, f"{path}: {regenerated} != {committed}"
    else:
        assert regenerated == committed, f"{path}: {regenerated!r} != {committed!r}"


def test_regenerating_writes_the_committed_vectors(tmp_path, monkeypatch, committed):
    out = tmp_path / "scheduler-vectors.json"
    monkeypatch.setattr("sys.argv", ["scheduler_vectors", "--out", str(out)])
    main()
    # stale vectors: run `python -m magicvideo_models.scheduler_vectors --out
    # libs/diffusion/test/fixtures/scheduler-vectors.json` and commit the result
    _assert_same_vectors(json.loads(out.read_text(encoding="utf-8")), committed)


def test_two_builds_are_identical():
    assert to_json(build_vectors()) == to_json(build_vectors())


def test_cases_cover_every_scheduler_spacing_and_prediction_type(committed):
    covered = {
        (c["scheduler"], c["config"]["timestep_spacing"], c["config"]["prediction_type"])
        for c in committed["cases"]
    }
    for scheduler in SCHEDULER_NAMES:
        for spacing in ("leading", "trailing"):
            for prediction_type in PREDICTION_TYPES:
                assert (scheduler, spacing, prediction_type) in covered
        assert (scheduler, "linspace", "epsilon") in covered
    betas = {(c["scheduler"], c["config"]["beta_schedule"]) for c in committed["cases"]}
    assert betas == {(s, b) for s in SCHEDULER_NAMES for b in ("scaled_linear", "linear")}


def test_ddim_is_recorded_with_eta_and_its_variance_noise(committed):
    stochastic = [c for c in committed["cases"] if c["scheduler"] == "ddim" and c["eta"] > 0]
    assert {c["config"]["timestep_spacing"] for c in stochastic} == {"leading", "trailing"}
    for case in stochastic:
        assert all(step["noise"] is not None for step in case["steps"])


def test_ddpm_records_its_noise_for_every_step_above_timestep_zero(committed):
    for case in (c for c in committed["cases"] if c["scheduler"] == "ddpm"):
        for step in case["steps"]:
            assert (step["noise"] is not None) == (step["timestep"] > 0)


def test_each_step_continues_from_the_previous_prev_sample(committed):
    for case in committed["cases"]:
        assert [s["timestep"] for s in case["steps"]] == case["timesteps"]
        for before, after in zip(case["steps"], case["steps"][1:], strict=False):
            assert before["prev_sample"] == after["sample"]


def test_timestep_tables_cover_every_scheduler_and_spacing(committed):
    tables = {(t["scheduler"], t["spacing"]) for t in committed["timestep_tables"]}
    assert tables == {(s, p) for s in SCHEDULER_NAMES for p in SPACINGS}


def test_floats_are_written_as_their_exact_float32_value(committed):
    sample = committed["cases"][0]["steps"][0]["prev_sample"]
    assert all(np.float32(v) == np.float32(float32_number(v)) for v in sample)
    assert float32_number(np.float32(0.1)) == 0.1
    assert np.float32(float32_number(np.float32(1) / np.float32(3))) == np.float32(1) / np.float32(3)


def test_vectors_stay_small():
    assert COMMITTED_VECTORS.stat().st_size < 1_000_000
