import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from magicvideo_models.noise import (
    NoisePurpose,
    main,
    noise_vectors,
    philox4x32_10,
    seeded_gaussian,
    seeded_gaussian_tensor,
    stream_id,
)

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "nx.json").exists())
COMMITTED_VECTORS = REPO_ROOT / "libs/diffusion/test/fixtures/noise-vectors.json"


# Known-answer tests of Random123 (kat_vectors, philox4x32 10).
@pytest.mark.parametrize(
    ("counter", "key", "expected"),
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_matches_random123_known_answers(counter, key, expected):
    words = philox4x32_10(np.array(counter, dtype=np.uint32), key)
    assert [int(w) for w in words] == list(expected)


def test_first_normals_follow_box_muller_of_the_first_block():
    words = philox4x32_10(np.zeros(4, dtype=np.uint32), (7, 0))
    u = [(int(w) + 0.5) / 2**32 for w in words]
    r01, r23 = math.sqrt(-2 * math.log(u[0])), math.sqrt(-2 * math.log(u[2]))
    expected = [
        r01 * math.cos(2 * math.pi * u[1]),
        r01 * math.sin(2 * math.pi * u[1]),
        r23 * math.cos(2 * math.pi * u[3]),
        r23 * math.sin(2 * math.pi * u[3]),
    ]
    np.testing.assert_allclose(seeded_gaussian(7, 0, 4), np.float32(expected), rtol=0, atol=1e-6)


def test_seed_above_2_pow_32_sets_the_high_key_word():
    words = philox4x32_10(np.array([0, 0, 5, 0], dtype=np.uint32), (3, 2))
    u0, u1 = (int(words[0]) + 0.5) / 2**32, (int(words[1]) + 0.5) / 2**32
    expected = math.sqrt(-2 * math.log(u0)) * math.cos(2 * math.pi * u1)
    assert seeded_gaussian(2 * 2**32 + 3, 5, 1)[0] == pytest.approx(expected, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**53 - 1),
    stream=st.integers(0, 2**32 - 1),
    offset=st.integers(0, 300),
    count=st.integers(0, 64),
)
def test_a_slice_drawn_alone_equals_the_slice_of_a_longer_draw(seed, stream, offset, count):
    longer = seeded_gaussian(seed, stream, offset + count)
    np.testing.assert_array_equal(seeded_gaussian(seed, stream, count, offset=offset), longer[offset:])


def test_draws_larger_than_one_chunk_are_contiguous(monkeypatch):
    import magicvideo_models.noise as noise

    whole = seeded_gaussian(5, 1, 1001, offset=3)
    monkeypatch.setattr(noise, "_BLOCKS_PER_CHUNK", 7)
    np.testing.assert_array_equal(noise.seeded_gaussian(5, 1, 1001, offset=3), whole)


def test_shape_is_filled_in_c_order():
    flat = seeded_gaussian(11, 3, 2 * 3 * 5)
    np.testing.assert_array_equal(seeded_gaussian(11, 3, (2, 3, 5)), flat.reshape(2, 3, 5))


def test_a_million_values_have_zero_mean_and_unit_std():
    stream = stream_id(NoisePurpose.KEYFRAME_INITIAL_LATENTS)
    values = seeded_gaussian(2024, stream, 1_000_000).astype(np.float64)
    assert abs(values.mean()) < 5e-3
    assert abs(values.std() - 1.0) < 5e-3
    # tails of a standard normal: P(|z| > 3) = 0.27%
    assert 0.0022 < np.mean(np.abs(values) > 3) < 0.0032


def test_different_streams_and_seeds_give_different_noise():
    base = seeded_gaussian(1, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 0), 64)
    other_step = seeded_gaussian(1, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 1), 64)
    other_seed = seeded_gaussian(2, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 0), 64)
    high_seed = seeded_gaussian(1 + 2**32, stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 0), 64)
    for other in (other_step, other_seed, high_seed):
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.5
        assert not np.array_equal(base, other)


def test_stream_id_packs_purpose_and_index():
    assert stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 17) == 2 * 65536 + 17
    assert stream_id(NoisePurpose.SDEDIT_NOISE) == 9 * 65536
    with pytest.raises(ValueError, match="index"):
        stream_id(NoisePurpose.KEYFRAME_STEP_NOISE, 65536)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 2**53}, ValueError, "seed"),
        ({"seed": 1.0}, TypeError, "seed"),
        ({"seed": True}, TypeError, "seed"),
        ({"stream": 2**32}, ValueError, "stream"),
        ({"offset": -4}, ValueError, "offset"),
        ({"shape": (2, -1)}, ValueError, "shape"),
    ],
)
def test_invalid_arguments_are_rejected(kwargs, error, match):
    arguments = {"seed": 1, "stream": 0, "shape": (4,)} | kwargs
    with pytest.raises(error, match=match):
        seeded_gaussian(**arguments)


def test_tensor_convenience_equals_the_numpy_draw():
    tensor = seeded_gaussian_tensor(9, 4, (2, 3), offset=5, dtype=torch.float64)
    assert tensor.dtype == torch.float64
    np.testing.assert_array_equal(tensor.numpy(), seeded_gaussian(9, 4, (2, 3), offset=5).astype(np.float64))


def test_committed_vectors_are_what_this_implementation_writes(tmp_path):
    written = tmp_path / "noise-vectors.json"
    main(["--write-vectors", str(written)])
    assert json.loads(written.read_text()) == noise_vectors()
    committed = json.loads(COMMITTED_VECTORS.read_text())
    assert committed["cases"] == noise_vectors()["cases"]
