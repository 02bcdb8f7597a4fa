"""The HTTP layer: one router per concern; thin, calling app.kernels / app.arithmetic."""
