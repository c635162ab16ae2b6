import torch

from magicvideo_models.adaptor import FrameAdaptor


def test_is_the_identity_at_initialisation() -> None:
    adaptor = FrameAdaptor(num_frames=4, channels=3)
    hidden = torch.randn(2 * 4, 3, 5, 5)
    assert torch.equal(adaptor(hidden), hidden)


def test_scales_and_shifts_each_frame_of_each_video_with_its_own_parameters() -> None:
    torch.manual_seed(0)
    adaptor = FrameAdaptor(num_frames=4, channels=3)
    with torch.no_grad():
        adaptor.scale.copy_(torch.randn(4, 3))
        adaptor.shift.copy_(torch.randn(4, 3))
    hidden = torch.randn(2 * 4, 3, 5, 5)  # two videos of four frames, frame index fastest
    out = adaptor(hidden)
    for video in range(2):
        for frame in range(4):
            row = video * 4 + frame
            expected = hidden[row] * adaptor.scale[frame, :, None, None] + adaptor.shift[frame, :, None, None]
            torch.testing.assert_close(out[row], expected)


def test_reset_parameters_returns_to_the_identity() -> None:
    adaptor = FrameAdaptor(num_frames=2, channels=3)
    with torch.no_grad():
        adaptor.scale.mul_(3.0)
        adaptor.shift.add_(1.0)
    adaptor.reset_parameters()
    hidden = torch.randn(2, 3, 4, 4)
    assert torch.equal(adaptor(hidden), hidden)
