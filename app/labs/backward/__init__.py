"""The Backward lab: δ and target construction (delta.py) and the float64
finite-difference check of conv2d_backward (gradcheck.py)."""
