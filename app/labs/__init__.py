"""Each lab's computations, one module or package per lab (named as its router in
app/api/, its schemas in app/schemas/, its page code in static/js/labs/).  Pure:
NumPy, app.kernels, app.nn and app.arithmetic; no web code."""
