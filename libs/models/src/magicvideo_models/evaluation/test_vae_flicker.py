import math
from dataclasses import replace
from functools import partial

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from magicvideo_models import video_vae
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder
from magicvideo_models.evaluation.test_onnx_pipeline import SHIPPED
from magicvideo_models.evaluation.vae_flicker import (
    NoTemporalLayersError,
    evaluate_vae_flicker,
    per_frame_decoder,
    vae_rows,
)
from magicvideo_models.onnx_export import export_onnx
from magicvideo_models.shapes.clips import sample_clip
from magicvideo_models.video_vae import VideoVAE, VideoVAEConfig

# Two levels (×2), 4 latent channels as the contract wants, a 3-frame attention window.
SMALL = replace(VideoVAEConfig.tiny(), sample_size=16, block_out_channels=(32, 32), temporal_window=3)


@pytest.fixture(scope="module")
def trained_looking_decoder(tmp_path_factory) -> tuple[VideoVAE, onnx.ModelProto]:
    """A small VideoVAE whose temporal layers contribute (as trained ones do), exported to ONNX."""
    torch.manual_seed(0)
    vae = VideoVAE(SMALL).eval()
    for layer in vae.decoder.temporal_attentions:
        torch.nn.init.normal_(layer.to_out.weight, std=0.5)
        torch.nn.init.normal_(layer.to_out.bias, std=0.5)
    path = tmp_path_factory.mktemp("vae") / "vae_decoder.onnx"
    export_onnx(
        "vae_decoder",
        vae.decoder_for_export(),
        partial(video_vae.example_inputs, SMALL),
        path,
        compare_with_pytorch=False,
    )
    return vae, onnx.load(str(path))


def _run(model: onnx.ModelProto, latents: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"latents": latents.numpy()})[0]


def _latents(frames: int) -> torch.Tensor:
    return torch.randn(1, 4, frames, 8, 8, generator=torch.Generator().manual_seed(1))


def test_rewritten_decoder_equals_pytorch_with_the_temporal_layers_off(trained_looking_decoder):
    vae, model = trained_looking_decoder
    latents = _latents(6)
    with torch.no_grad():
        vae.decoder.use_temporal_layers = False
        per_frame = vae.decode(latents).clamp(-1, 1).numpy()
        vae.decoder.use_temporal_layers = True
        video = vae.decode(latents).clamp(-1, 1).numpy()

    rewritten = _run(per_frame_decoder(onnx.load_from_string(model.SerializeToString())), latents)

    np.testing.assert_allclose(rewritten, per_frame, atol=1e-5)
    assert np.abs(video - per_frame).max() > 1e-2  # the temporal layers do change the frames
    np.testing.assert_allclose(_run(model, latents), video, atol=1e-5)


def test_decoding_frames_one_at_a_time_is_not_the_per_frame_decoder(trained_looking_decoder):
    # a lone frame still gets to_out(to_v(norm(x))) added: why the baseline is the rewritten graph
    vae, model = trained_looking_decoder
    latents = _latents(3)
    one_at_a_time = np.concatenate([_run(model, latents[:, :, [f]]) for f in range(3)], axis=2)
    rewritten = _run(per_frame_decoder(onnx.load_from_string(model.SerializeToString())), latents)
    assert np.abs(one_at_a_time - rewritten).max() > 1e-2


def test_a_decoder_without_temporal_residuals_is_refused(trained_looking_decoder):
    _, model = trained_looking_decoder
    once = per_frame_decoder(onnx.load_from_string(model.SerializeToString()))
    assert not any("temporal_attentions" in node.name for node in once.graph.node)
    with pytest.raises(NoTemporalLayersError):
        per_frame_decoder(once)


def test_shipped_folder_reports_flicker_and_psnr_of_both_decoders():
    folder = OnnxModelFolder.open(SHIPPED, threads=1)
    clips = [sample_clip(0, 0, "val")]

    result = evaluate_vae_flicker(folder, clips, latent_noise=0.1, seed=0)

    assert set(result.scores) == {
        f"{latents} latents/{decoder}"
        for latents in ("exact", "noisy")
        for decoder in ("video_vae", "per_frame")
    }
    for scores in result.scores.values():
        assert math.isfinite(scores.psnr_db) and scores.flicker_8bit >= 0
    rows = vae_rows(result)
    assert [row.passed is None for row in rows] == [False, False, False, False, True]
