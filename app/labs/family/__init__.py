"""The More lab ("family" in URLs and test ids): transposed convolution
(transposed.py), PyTorch vs TensorFlow padding (frameworks.py), groups and
depthwise cost (groups.py)."""
