"""Evaluation of a model folder on MagicVideo Shapes (DESIGN.md §7, paper §4.1).

evaluate (the command and the table), onnx_pipeline (the folder's stages through onnxruntime
with the Python reference sampler), faithfulness (the judge's verdicts on seen and held-out
captions, and its controls on real clips), smoothness_speed (flicker, motion regularity, speed
against the FPS condition), vae_flicker (VideoVAE against per-frame decoding), interpolation_quality
(interpolation U-Net against linear blending), sr_quality (SR against bicubic), cli_check (the
TypeScript CLI's clips, judged), report (the table).
"""
