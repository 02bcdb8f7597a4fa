"""The labs: each lab's computations, pure NumPy around app.kernels and app.nn, no web code."""
