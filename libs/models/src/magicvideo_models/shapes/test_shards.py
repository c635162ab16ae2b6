import json
from pathlib import Path

import numpy as np
import pytest

from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.shapes.generate import generate_split, main
from magicvideo_models.shapes.shards import read_shard, write_shard


def test_shard_round_trip_keeps_every_field(tmp_path: Path) -> None:
    clips = [sample_clip(4, i, "heldout", resolution=32, high_resolution=64) for i in range(3)]
    write_shard(tmp_path / "s.npz", clips)
    shard = read_shard(tmp_path / "s.npz")
    assert len(shard) == 3
    np.testing.assert_array_equal(shard.frames, np.stack([c.frames for c in clips]))
    np.testing.assert_array_equal(shard.keyframes, np.stack([c.keyframes for c in clips]))
    assert shard.high_res_keyframes is not None
    np.testing.assert_array_equal(shard.high_res_keyframes, np.stack([c.high_res_keyframes for c in clips]))
    assert shard.captions == [c.caption for c in clips]
    assert shard.attributes == [c.attributes for c in clips]
    np.testing.assert_allclose(shard.fps_condition, [c.fps_condition for c in clips], rtol=1e-6)
    assert shard.window_length.tolist() == [c.window_length for c in clips]
    assert shard.index.tolist() == [0, 1, 2] and shard.seed.tolist() == [4, 4, 4]
    assert shard.split == ["heldout"] * 3


def test_shard_without_high_resolution_frames_reads_back_none(tmp_path: Path) -> None:
    write_shard(tmp_path / "s.npz", [sample_clip(0, 0, resolution=16)])
    assert read_shard(tmp_path / "s.npz").high_res_keyframes is None


def test_generate_writes_shards_resumes_and_refuses_a_different_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        ["--split", "val", "--count", "5", "--shard-size", "2", "--resolution", "16", "--out", str(tmp_path)]
    )
    names = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert names == ["val-00000.npz", "val-00001.npz", "val-00002.npz"]
    manifest = json.loads((tmp_path / "val.json").read_text())
    assert manifest["count"] == 5 and manifest["shards"] == names
    last = read_shard(tmp_path / "val-00002.npz")
    assert last.index.tolist() == [4]
    np.testing.assert_array_equal(last.frames[0], sample_clip(0, 4, "val", resolution=16).frames)

    capsys.readouterr()
    generate_split("val", 5, tmp_path, shard_size=2, resolution=16)
    assert capsys.readouterr().out.count("already written") == 3
    with pytest.raises(ValueError, match="different run"):
        generate_split("val", 5, tmp_path, shard_size=2, resolution=32)
