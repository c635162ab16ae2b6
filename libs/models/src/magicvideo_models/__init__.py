"""MagicVideo models: architectures, training, evaluation and ONNX export."""
