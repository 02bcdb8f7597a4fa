// NumPy and PyTorch programs that recompute one convolution layer, written from the
// same request body the Convolution lab sends to POST /api/conv2d. Pure: no DOM.

import { pair, paddingSides } from "../shape.js";

const PY_PAD = { zeros: "constant", reflect: "reflect", replicate: "edge", circular: "wrap" };
const TORCH_PAD = { zeros: "constant", reflect: "reflect", replicate: "replicate", circular: "circular" };

const pyNum = (v) => {
  const s = String(Number(v));
  return /[.e]/.test(s) || !Number.isFinite(v) ? s : `${s}.0`;
};

/** Nested lists as Python source, one innermost row per line. */
function pyList(value, indent = 4) {
  if (!Array.isArray(value)) return pyNum(value);
  if (!Array.isArray(value[0])) return `[${value.map(pyNum).join(", ")}]`;
  const pad = " ".repeat(indent);
  return `[\n${value.map((v) => pad + pyList(v, indent + 1)).join(",\n")}\n${" ".repeat(indent - 1)}]`;
}

/** (top, bottom, left, right) padding of the body for a kh×kw kernel. */
export function padAmounts(body) {
  const [, , kh, kw] = shapeOf(body.weight);
  const [dh, dw] = pair(body.dilation ?? 1);
  return paddingSides(body.padding ?? 0, kh, kw, dh, dw).flat();
}

export function shapeOf(nested) {
  const shape = [];
  for (let v = nested; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

function inputLines(body, origin, lib) {
  if (body.image_id) {
    const color = body.color ? `?color=${body.color}` : "";
    const url = `${origin}/api/images/${body.image_id}/pixels${color}`;
    const load = lib === "numpy"
      ? 'x = np.array(json.load(urllib.request.urlopen(URL))["pixels"], dtype=np.float32)'
      : 'x = torch.tensor(json.load(urllib.request.urlopen(URL))["pixels"], dtype=torch.float32)';
    return [
      `# The input (C, H, W): the exact pixels of image "${body.image_id}"${body.color ? ` as ${body.color}` : ""}, read from ConvLab.`,
      `URL = "${url}"`,
      load,
    ];
  }
  const ctor = lib === "numpy" ? "np.array" : "torch.tensor";
  const dtype = lib === "numpy" ? "np.float32" : "torch.float32";
  return ["# The input (C, H, W): the lab's pixel grid.", `x = ${ctor}(${pyList(body.input)}, dtype=${dtype})`];
}

/** A NumPy program reproducing the lab's output `y` (C_out, H_out, W_out). */
export function numpySnippet(body, origin) {
  const [sh, sw] = pair(body.stride ?? 1);
  const [dh, dw] = pair(body.dilation ?? 1);
  const [pt, pb, pl, pr] = padAmounts(body);
  const mode = body.padding_mode || "zeros";
  const lines = [
    "# ConvLab, Convolution lab: recomputes the feature maps on screen (float32).",
    ...(body.image_id ? ["import json", "import urllib.request", ""] : []),
    "import numpy as np",
    "",
    ...inputLines(body, origin, "numpy"),
    "",
    "# Kernels (C_out, C_in, kh, kw) and one bias per filter",
    `w = np.array(${pyList(body.weight)}, dtype=np.float32)`,
    `b = np.array(${pyList(body.bias ?? [])}, dtype=np.float32)`,
  ];
  if (body.flip) lines.push("w = w[:, :, ::-1, ::-1]  # true convolution: the kernel is flipped in both axes");
  lines.push(
    "",
    `stride, dilation = (${sh}, ${sw}), (${dh}, ${dw})`,
    `# padding "${Array.isArray(body.padding) ? body.padding.join(",") : body.padding}" in ${mode} mode: (top, bottom), (left, right)`,
    `xp = np.pad(x, ((0, 0), (${pt}, ${pb}), (${pl}, ${pr})), mode="${PY_PAD[mode]}")`,
    "c_out, c_in, kh, kw = w.shape",
    "oh = (xp.shape[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1",
    "ow = (xp.shape[2] - dilation[1] * (kw - 1) - 1) // stride[1] + 1",
    "",
    "# y[o, i, j] = b[o] + sum over c, a, q of w[o, c, a, q] * xp[c, i*s + a*d, j*s + q*d]  (eq. 36.3)",
    "y = np.zeros((c_out, oh, ow), dtype=np.float32)",
    "for a in range(kh):",
    "    for q in range(kw):",
    "        r0, c0 = a * dilation[0], q * dilation[1]",
    "        patch = xp[:, r0:r0 + stride[0] * (oh - 1) + 1:stride[0], c0:c0 + stride[1] * (ow - 1) + 1:stride[1]]",
  );
  const groups = body.groups ?? 1;
  if (groups === 1) {
    lines.push('        y += np.einsum("oc,chw->ohw", w[:, :, a, q], patch)');
  } else {
    lines.push(
      `        for g in range(${groups}):  # groups: filter block g sees only input channels of block g`,
      `            fo = slice(g * c_out // ${groups}, (g + 1) * c_out // ${groups})`,
      "            ci = slice(g * c_in, (g + 1) * c_in)  # w holds C_in / groups slices per filter",
      '            y[fo] += np.einsum("oc,chw->ohw", w[fo, :, a, q], patch[ci])',
    );
  }
  lines.push("y += b[:, None, None]");
  if (body.relu) lines.push("y = np.maximum(y, 0)  # ReLU");
  lines.push("", "print(y.shape)", "print(y[0])");
  return lines.join("\n");
}

/** A PyTorch program reproducing the lab's output `y` (C_out, H_out, W_out). */
export function torchSnippet(body, origin) {
  const [sh, sw] = pair(body.stride ?? 1);
  const [dh, dw] = pair(body.dilation ?? 1);
  const [pt, pb, pl, pr] = padAmounts(body);
  const mode = body.padding_mode || "zeros";
  const lines = [
    "# ConvLab, Convolution lab: the same numbers with PyTorch (float32).",
    ...(body.image_id ? ["import json", "import urllib.request", ""] : []),
    "import torch",
    "import torch.nn.functional as F",
    "",
    ...inputLines(body, origin, "torch"),
    "",
    `w = torch.tensor(${pyList(body.weight)}, dtype=torch.float32)`,
    `b = torch.tensor(${pyList(body.bias ?? [])}, dtype=torch.float32)`,
  ];
  if (body.flip) lines.push("w = torch.flip(w, dims=(2, 3))  # true convolution: flip the kernel");
  lines.push(
    "",
    `# padding as (left, right, top, bottom); "${mode}" padding`,
    `xp = F.pad(x[None], (${pl}, ${pr}, ${pt}, ${pb}), mode="${TORCH_PAD[mode]}")`,
    `y = F.conv2d(xp, w, b, stride=(${sh}, ${sw}), dilation=(${dh}, ${dw})${(body.groups ?? 1) !== 1 ? `, groups=${body.groups}` : ""})[0]  # cross-correlation, like ConvLab`,
  );
  if (body.relu) lines.push("y = torch.relu(y)");
  lines.push("", "print(y.shape)", "print(y[0])");
  return lines.join("\n");
}
