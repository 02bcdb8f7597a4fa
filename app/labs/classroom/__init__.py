"""The classroom: lessons (lessons.py), code export parity (reference.py) and the
learn-a-filter demo (learn.py)."""
