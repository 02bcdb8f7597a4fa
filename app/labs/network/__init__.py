"""The Network lab: layer stacks validated, summarised, run and backpropagated.

A stack is a list of layer dicts as the HTTP API takes them::

    {"type": "conv", "filters", "kernel", "stride", "padding", "dilation", "padding_mode", "activation"}
    {"type": "pool", "kind": "max" | "avg", "kernel", "stride", "padding"}
    {"type": "relu"}   {"type": "flatten"}   {"type": "dense", "units", "activation"}

Modules, in the order a request meets them: ``layers`` (one layer: validation, output
shape, parameters, multiply-adds), ``summary`` (the model-summary table with receptive
fields), ``presets`` (the chapter's classifier, VGG-16), ``run`` (weights, forward and
backward through a stack on an image) and ``fields`` (one unit's theoretical and
effective receptive field).
"""
from .fields import mass_fraction, unit_field
from .layers import ACTIVATIONS, LAYER_TYPES, Layer, layer_macs, layer_params, output_shape, parse_input_shape, parse_layer
from .presets import CANONICAL, PRESETS
from .run import (
    EDGE_KERNELS,
    EDGE_NAMES,
    CappedStack,
    Params,
    StackRun,
    Trace,
    backward,
    cap_widths,
    fit_image,
    forward,
    make_params,
    match_channels,
    run_stack,
    stack_macs,
    widths,
)
from .summary import Row, analyse, summarize, summary_text
