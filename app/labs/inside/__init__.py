"""The Inside lab: why a trained network answers what it answers.

``network`` turns a run's weights into an ``InspectNet`` (inference mode,
input gradients only); each method is one module: ``saliency``,
``smoothgrad``, ``gradcam``, ``occlusion``, ``fgsm``, ``sanity`` (the
cascading randomisation test), ``featurevis``, ``confusion`` (the held-out
pass).  ``service`` picks the method for a request and caches results per
(weights, digit, method, knobs).  Pure: NumPy and app.kernels, no web code.
"""
