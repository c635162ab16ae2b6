import math

import numpy as np
import pytest

from magicvideo_models.shapes.grammar import BACKGROUND, PALETTE
from magicvideo_models.shapes.render import ShapeScene, render_frames

YELLOW = PALETTE["yellow"]


def _coverage(frames: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Per-pixel fraction of the object colour, from the background→colour blend: [T, H, W]."""
    direction = np.subtract(colour, BACKGROUND).astype(np.float64)
    offset = frames.astype(np.float64) - np.asarray(BACKGROUND, dtype=np.float64)
    return offset @ direction / (direction @ direction)


def _scene(shape: str, **overrides: object) -> ShapeScene:
    values: dict[str, object] = {
        "shape": shape,
        "colour": YELLOW,
        "half_size": 0.12,
        "start": (0.3, 0.45),
        "velocity": (0.01, 0.0),
    }
    values.update(overrides)
    return ShapeScene(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("shape", "unit_area"), [("circle", math.pi), ("square", 4.0), ("triangle", 2.0)])
@pytest.mark.parametrize("resolution", [64, 256])
def test_covered_area_matches_the_shapes_true_area(shape: str, unit_area: float, resolution: int) -> None:
    scene = _scene(shape, start=(0.3137, 0.4711))  # off the pixel grid
    frames = render_frames(scene, np.array([0.0, 7.3]), resolution)
    expected = unit_area * (scene.half_size * resolution) ** 2
    covered = _coverage(frames, YELLOW).sum(axis=(1, 2))
    np.testing.assert_allclose(covered, expected, rtol=0.02)


def test_edges_are_anti_aliased_blends_of_object_and_background() -> None:
    frames = render_frames(_scene("circle"), np.array([0.0]), 64)
    coverage = _coverage(frames, YELLOW)
    partial = (coverage > 0.05) & (coverage < 0.95)
    assert partial.sum() >= 20
    # Each pixel lies on the background→colour line (up to rounding), never another colour.
    blend = np.asarray(BACKGROUND) + coverage[..., None] * np.subtract(YELLOW, BACKGROUND)
    assert np.abs(frames - blend).max() <= 1.0


def test_the_same_scene_renders_the_same_geometry_at_every_resolution() -> None:
    scene = _scene("triangle", start=(0.41, 0.37), velocity=(0.0, 0.012))
    times = np.array([0.0, 5.0, 11.5])
    low = render_frames(scene, times, 64).astype(np.float64)
    high = render_frames(scene, times, 256).astype(np.float64)
    downsampled = high.reshape(3, 64, 4, 64, 4, 3).mean(axis=(2, 4))
    assert np.abs(low - downsampled).mean() < 0.5
    # 4×4 supersampling quantises an edge pixel's coverage to about 1/16–2/16 of the contrast (~210).
    assert np.abs(low - downsampled).max() < 32


def test_object_moves_with_the_scene_velocity() -> None:
    scene = _scene("square", start=(0.25, 0.6), velocity=(0.011, -0.004))
    times = np.array([0.0, 10.0, 20.0, 30.5])
    coverage = _coverage(render_frames(scene, times, 128), YELLOW)
    ys, xs = np.mgrid[0:128, 0:128] + 0.5
    mass = coverage.sum(axis=(1, 2))
    centroid_x = (coverage * xs).sum(axis=(1, 2)) / mass / 128
    centroid_y = (coverage * ys).sum(axis=(1, 2)) / mass / 128
    expected = np.array([scene.centre_at(t) for t in times])
    np.testing.assert_allclose(centroid_x, expected[:, 0], atol=0.002)
    np.testing.assert_allclose(centroid_y, expected[:, 1], atol=0.002)


def test_triangle_points_up() -> None:
    coverage = _coverage(render_frames(_scene("triangle"), np.array([0.0]), 64), YELLOW)[0]
    rows = np.flatnonzero(coverage.sum(axis=1) > 0.5)
    assert coverage[rows[0]].sum() < coverage[rows[-1]].sum() / 3


def test_an_object_outside_the_frame_leaves_only_background() -> None:
    scene = _scene("circle", start=(0.5, 0.5), velocity=(0.1, 0.0))
    frames = render_frames(scene, np.array([0.0, 5.0, 20.0]), 64)
    assert (frames[1:2] != np.asarray(BACKGROUND, dtype=np.uint8)).any()  # half out: still drawn
    assert (frames[2] == np.asarray(BACKGROUND, dtype=np.uint8)).all()


def test_scene_rejects_unknown_shapes_and_sizes() -> None:
    with pytest.raises(ValueError, match="unknown shape"):
        _scene("hexagon")
    with pytest.raises(ValueError, match="half_size"):
        _scene("circle", half_size=0.6)
