"""The cost of grouped and depthwise-separable convolution: parameters (eq. 36.5 with
C_in / groups inputs per filter) and multiply-adds (eq. 36.11) for every valid number
of groups, and a depthwise 3×3 + pointwise 1×1 pair against the standard layer."""
from __future__ import annotations

from app import arithmetic


def groups_cost(height: int, width: int, c_in: int, c_out: int, kernel: int, stride: int = 1,
                padding: int = 0, bias: bool = True) -> dict:
    """Parameters and multiply-adds of a conv layer for every valid groups, and depthwise-separable vs standard."""
    k = kernel
    oh = arithmetic.conv_output_size(height, k, stride, padding)
    ow = arithmetic.conv_output_size(width, k, stride, padding)
    options = []
    for g in range(1, min(c_in, c_out) + 1):
        if c_in % g or c_out % g:
            continue
        options.append({
            "groups": g,
            "weight_shape": [c_out, c_in // g, k, k],
            "params": arithmetic.conv_params(c_in, c_out, k, k, bias=bias, groups=g),
            "macs": arithmetic.conv_macs(oh, ow, c_out, c_in, k, k, groups=g),
        })
    standard = options[0]
    dw_params = arithmetic.conv_params(c_in, c_in, k, k, bias=bias, groups=c_in)
    dw_macs = arithmetic.conv_macs(oh, ow, c_in, c_in, k, k, groups=c_in)
    pw_params = arithmetic.conv_params(c_in, c_out, 1, 1, bias=bias)
    pw_macs = arithmetic.conv_macs(oh, ow, c_out, c_in, 1, 1)
    separable = {
        "depthwise_params": dw_params,
        "depthwise_macs": dw_macs,
        "pointwise_params": pw_params,
        "pointwise_macs": pw_macs,
        "params": dw_params + pw_params,
        "macs": dw_macs + pw_macs,
        "params_ratio": standard["params"] / (dw_params + pw_params),
        "macs_ratio": standard["macs"] / (dw_macs + pw_macs),
    }
    return {
        "output_shape": [c_out, oh, ow],
        "options": options,
        "standard": {"params": standard["params"], "macs": standard["macs"]},
        "depthwise_separable": separable,
    }
