"""Training on MagicVideo Shapes (DESIGN.md §7): one resumable command per stage.

    python -m magicvideo_models.training.train_clip --out runs/clip
    python -m magicvideo_models.training.train_vae --out runs/vae
    python -m magicvideo_models.training.train_sr --out runs/sr

Each stage writes its run folder (checkpoint.pt, train.log) and, at the end, its final weights
as float16 safetensors plus a JSON summary (trained_weights.py), which `magicvideo-models export
--weights DIR` loads into a model folder. Shared pieces: checkpoint.py (atomic save/resume),
run_log.py (a line per N steps), lr_schedule.py, shapes_dataset.py (deterministic batches).
"""
