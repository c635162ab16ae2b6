"""VideoVAE against per-frame decoding (paper §3.3): flicker and PSNR against the true frames.

True clips' 61 frames are encoded with the folder's VAE encoder (the posterior's mode), then
decoded twice: by the shipped VideoVAE decoder, and by the same decoder with its two directed
temporal attention layers taken out. The second is exactly ``use_temporal_layers=False`` of
video_vae.py, the per-frame decoder the paper compares with and the one the VAE's first
training phase trained: each temporal layer is a residual ``x + attention(x)``, and the graph
rewrite below wires each residual sum to its ``x`` (test_vae_flicker proves the rewritten
ONNX equals PyTorch with the temporal layers off).

Why not decode each frame alone (F = 1)? With the directed, windowed mask a single frame does
attend only to itself, so no frame sees another; but attention over one key returns that key's
value, so the layer still adds ``to_out(to_v(norm(x)))`` to every frame: a per-frame decoder,
yet not the one the VAE trained, and once the temporal layers are trained its frames differ
from the baseline's (the test shows that too).

Decoding is also measured from noisy latents (Gaussian noise of ``latent_noise`` × the latents'
std per frame): generated latents are never exact, and the flicker per-frame decoding adds
shows most when neighbouring frames' latents disagree a little.

Flicker is train_vae's: mean |Δ_t decoded − Δ_t true| in 8-bit levels, 0 when the decode
changes from frame to frame exactly as the truth does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
import torch

from magicvideo_models.evaluation.faithfulness import Progress
from magicvideo_models.evaluation.onnx_pipeline import OnnxModelFolder, bytes_to_signed
from magicvideo_models.evaluation.report import ReportRow
from magicvideo_models.noise import NoisePurpose, seeded_gaussian, stream_id
from magicvideo_models.shapes.clips import ShapesClip
from magicvideo_models.training.shapes_dataset import psnr
from magicvideo_models.training.train_vae import flicker

# Node scopes torch.onnx gives the decoder's temporal layers ("/decoder/temporal_attentions.0/...").
TEMPORAL_SCOPE = re.compile(r"(^|/)temporal_attentions\.\d+/")
DEFAULT_LATENT_NOISE = 0.1
PSNR_TOLERANCE_DB = 0.05  # "no worse PSNR": within rounding of the printed figure


class NoTemporalLayersError(ValueError):
    """The decoder holds no temporal attention residuals to take out."""


def per_frame_decoder(model: onnx.ModelProto) -> onnx.ModelProto:
    """The VideoVAE decoder graph with every temporal attention residual ``x + attention(x)``
    replaced by ``x``; nodes and weights only the attention used are dropped."""
    graph = model.graph
    producer = {output: node for node in graph.node for output in node.output}

    def temporal(name: str) -> bool:
        return name in producer and TEMPORAL_SCOPE.search(producer[name].name) is not None

    residuals = 0
    for node in graph.node:
        if node.op_type != "Add" or TEMPORAL_SCOPE.search(node.name) or len(node.input) != 2:
            continue
        from_attention = [temporal(name) for name in node.input]
        if from_attention.count(True) != 1:
            continue
        kept = node.input[from_attention.index(False)]
        node.op_type = "Identity"
        del node.input[:]
        node.input.append(kept)
        residuals += 1
    if residuals == 0:
        raise NoTemporalLayersError(
            "the decoder has no temporal attention residual: it already decodes per frame"
        )
    _drop_unused(graph)
    return model


def _drop_unused(graph: onnx.GraphProto) -> None:
    """Remove nodes no graph output depends on, then initializers no node reads."""
    producer = {output: node for node in graph.node for output in node.output}
    needed_names = {output.name for output in graph.output}
    needed_nodes: set[int] = set()
    stack = list(needed_names)
    while stack:
        node = producer.get(stack.pop())
        if node is None or id(node) in needed_nodes:
            continue
        needed_nodes.add(id(node))
        stack.extend(name for name in node.input if name)
        # subgraphs (If/Loop bodies) read outer names too
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs]:
                stack.extend(name for inner in subgraph.node for name in inner.input if name)
    kept = [node for node in graph.node if id(node) in needed_nodes]
    del graph.node[:]
    graph.node.extend(kept)
    read = {name for node in graph.node for name in node.input}
    for attribute_node in graph.node:
        for attribute in attribute_node.attribute:
            for subgraph in [attribute.g, *attribute.graphs]:
                read.update(name for inner in subgraph.node for name in inner.input)
    initializers = [tensor for tensor in graph.initializer if tensor.name in read]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


@dataclass(frozen=True)
class DecoderScores:
    psnr_db: float
    flicker_8bit: float


@dataclass(frozen=True)
class VaeFlicker:
    clips: int
    latent_noise: float
    scores: dict[str, DecoderScores]  # "<exact|noisy> latents/<video_vae|per_frame>"
    true_frame_change_8bit: float  # mean |Δ_t true|: the scale flicker is measured against


def evaluate_vae_flicker(
    folder: OnnxModelFolder,
    clips: Sequence[ShapesClip],
    *,
    latent_noise: float = DEFAULT_LATENT_NOISE,
    seed: int = 0,
    progress: Progress | None = None,
) -> VaeFlicker:
    """Both decoders on the clips' frames from exact and from noisy latents."""
    decoders = {
        "video_vae": folder.session("vae_decoder"),
        "per_frame": folder.session_for_bytes(
            per_frame_decoder(
                onnx.load(str(folder.path / folder.manifest["models"]["vae_decoder"]))
            ).SerializeToString()
        ),
    }
    decoded: dict[str, list[torch.Tensor]] = {}
    truth = []
    for index, clip in enumerate(clips):
        latents = folder.video_latents(clip.frames)  # [1, C, N, h, w] unscaled
        # seeded per clip, in the VAE's own noise stream, so the run is reproducible
        noise = seeded_gaussian(seed + index, stream_id(NoisePurpose.VAE_POSTERIOR_SAMPLE, 0), latents.shape)
        noisy = latents + np.float32(latent_noise * latents.std()) * noise.astype(np.float32)
        for latents_name, values in (("exact", latents), ("noisy", noisy)):
            for decoder_name, decoder in decoders.items():
                frames = torch.from_numpy(folder.decode_unscaled(values, decoder))
                decoded.setdefault(f"{latents_name} latents/{decoder_name}", []).append(frames)
        truth.append(torch.from_numpy(bytes_to_signed(clip.frames).transpose(3, 0, 1, 2))[None])
        if progress is not None and ((index + 1) % 8 == 0 or index + 1 == len(clips)):
            progress(f"vae: {index + 1}/{len(clips)} clips")
    video = torch.cat(truth)  # [B, 3, N, H, W]
    scores = {
        name: DecoderScores(psnr(torch.cat(parts), video), flicker(torch.cat(parts), video))
        for name, parts in decoded.items()
    }
    return VaeFlicker(
        clips=len(clips),
        latent_noise=latent_noise,
        scores=scores,
        true_frame_change_8bit=float(video.diff(dim=2).abs().mean() * 127.5),
    )


def vae_rows(result: VaeFlicker) -> list[ReportRow]:
    """Per latent kind: flicker (VideoVAE below per-frame) and PSNR (VideoVAE no worse)."""
    rows = []
    for latents_name in ("exact", "noisy"):
        video = result.scores[f"{latents_name} latents/video_vae"]
        frame = result.scores[f"{latents_name} latents/per_frame"]
        label = latents_name if latents_name == "exact" else f"noisy (σ = {result.latent_noise:g}·std)"
        rows.append(
            ReportRow(
                "vae",
                f"{label} latents: flicker, {result.clips} clips",
                video.flicker_8bit,
                reference=f"per-frame {frame.flicker_8bit:.3f}",
                target="< per-frame",
                passed=video.flicker_8bit < frame.flicker_8bit,
                unit="levels",
            )
        )
        rows.append(
            ReportRow(
                "vae",
                f"{label} latents: PSNR",
                video.psnr_db,
                reference=f"per-frame {frame.psnr_db:.2f} dB",
                target="≥ per-frame",
                passed=video.psnr_db >= frame.psnr_db - PSNR_TOLERANCE_DB,
                unit="dB",
            )
        )
    rows.append(ReportRow("vae", "true frame change", result.true_frame_change_8bit, unit="levels"))
    return rows
