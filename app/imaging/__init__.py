"""Image I/O: decoding and normalising uploads (decode.py, the only module that
imports Pillow), the content-addressed in-memory store (store.py) and the built-in
samples (samples.py, photographs in sample_images/)."""
