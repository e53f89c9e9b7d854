"""From images to maps with a trained network: runtimes (PyTorch, ONNX Runtime), LPS's
promoter, and the ONNX export."""
