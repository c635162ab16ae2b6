import json
from pathlib import Path

import pytest

from magicvideo_models.sr_tiling_fixture import (
    DEFAULT_OUT,
    FIXTURE_CONFIG,
    MANIFEST_FILE,
    MODEL_FILE,
    write_sr_tiling_fixture,
)
from magicvideo_models.sr_unet import receptive_field_radius

FIXTURE_FILES = (MANIFEST_FILE, MODEL_FILE)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sr-tiling")
    write_sr_tiling_fixture(out)
    return out


def test_two_writes_give_byte_identical_files(written: Path, tmp_path: Path) -> None:
    write_sr_tiling_fixture(tmp_path)
    for name in FIXTURE_FILES:
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes(), name


def test_the_committed_fixture_is_what_the_script_writes(written: Path) -> None:
    for name in FIXTURE_FILES:
        assert (DEFAULT_OUT / name).read_bytes() == (written / name).read_bytes(), (
            f"{name} is stale: rerun .venv/bin/python -m magicvideo_models.sr_tiling_fixture"
        )


def test_the_field_fits_the_runtime_test_frame_many_times(written: Path) -> None:
    """super-resolve.spec.ts tiles a 640×640 frame in cores of 128: the halo must stay well inside."""
    facts = json.loads((written / MANIFEST_FILE).read_text())["super_resolution"]
    assert facts == {
        "size_multiple": FIXTURE_CONFIG.size_multiple,
        "receptive_field_radius": receptive_field_radius(FIXTURE_CONFIG),
    }
    halo = -(-facts["receptive_field_radius"] // facts["size_multiple"]) * facts["size_multiple"]
    assert 128 + 2 * halo < 640
    assert (written / MODEL_FILE).stat().st_size < 2_000_000
