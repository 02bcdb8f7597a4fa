// The Convolution lab's kernels as one PNG: a row per filter, a column per input
// channel of its group, on the diverging scale of the largest |weight|.

import { MAPS } from "../../colormap.js";
import { exportCanvases } from "../../heatmap.js";

/** Download `wts` (model.weights) as convlab-kernels.png. */
export function exportKernelsPng(wts) {
  const cell = 24;
  const gap = 8;
  const out = document.createElement("canvas");
  out.width = wts.cinG * (wts.kw * cell + gap);
  out.height = wts.cout * (wts.kh * cell + gap);
  const c2 = out.getContext("2d");
  c2.fillStyle = "#fff";
  c2.fillRect(0, 0, out.width, out.height);
  let m = 0;
  for (const f of wts.slices) for (const s of f) for (const v of s) m = Math.max(m, Math.abs(v));
  m = m || 1;
  wts.slices.forEach((f, fi) => f.forEach((slice, ci) => slice.forEach((v, i) => {
    const t = Math.round(((v + m) / (2 * m)) * 255);
    const tab = MAPS.diverging.table;
    c2.fillStyle = `rgb(${tab[3 * t]},${tab[3 * t + 1]},${tab[3 * t + 2]})`;
    c2.fillRect(ci * (wts.kw * cell + gap) + (i % wts.kw) * cell, fi * (wts.kh * cell + gap) + Math.floor(i / wts.kw) * cell, cell - 1, cell - 1);
  })));
  exportCanvases([out], out.width, out.height, "convlab-kernels.png");
}
