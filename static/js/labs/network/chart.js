// Receptive-field size against depth (SVG): the stack's field, the stride-1 line
// 1 + Σ(k − 1) of the same convolutions without any stride or pooling (eq. 36.8,
// 1 + L(k − 1) for equal kernels), and the input size for scale.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

const maxOf = (v) => (Array.isArray(v) ? Math.max(...v) : v);

/**
 * Points of both curves from the summary rows and the stack's layers.
 * Returns [{index, rf, linear}] for every valid row.
 */
export function rfSeries(summary, layers) {
  let linear = 1;
  const out = [];
  for (const row of summary.layers) {
    const layer = layers[row.index];
    if (row.error || !layer) continue;
    if (layer.type === "conv") {
      const span = Math.max(...layer.kernel.map((k, a) => layer.dilation[a] * (k - 1)));
      linear += span;
    }
    out.push({ index: row.index, rf: maxOf(row.rf_size), linear, type: layer.type });
  }
  return out;
}

export function drawRfChart(container, summary, layers, { unitLayer = -1 } = {}) {
  const W = 340;
  const H = 190;
  const m = { l: 40, r: 10, t: 10, b: 30 };
  const series = rfSeries(summary, layers);
  const inputSize = Math.max(summary.input_shape[1], summary.input_shape[2]);
  const yMax = Math.max(4, inputSize, ...series.map((p) => Math.max(p.rf, p.linear))) * 1.05;
  const n = Math.max(1, summary.layers.length);
  const x = (i) => m.l + ((i + 0.5) / n) * (W - m.l - m.r);
  const y = (v) => H - m.b - (v / yMax) * (H - m.t - m.b);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Receptive-field size against layer", class: "net-chart" });
  const desc = series.map((p) => `layer ${p.index + 1}: ${p.rf}`).join(", ");
  root.append(svg("title", {}, `Receptive field by layer — ${desc}`));

  // axes and ticks
  root.append(svg("line", { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, class: "axis" }));
  root.append(svg("line", { x1: m.l, y1: m.t, x2: m.l, y2: H - m.b, class: "axis" }));
  const step = niceStep(yMax / 4);
  for (let v = 0; v <= yMax; v += step) {
    root.append(svg("line", { x1: m.l - 3, y1: y(v), x2: W - m.r, y2: y(v), class: "grid" }));
    root.append(svg("text", { x: m.l - 5, y: y(v) + 4, class: "tick", "text-anchor": "end" }, String(v)));
  }
  for (const row of summary.layers) {
    if (n <= 12 || row.index % 2 === 0) root.append(svg("text", { x: x(row.index), y: H - m.b + 13, class: "tick", "text-anchor": "middle" }, String(row.index + 1)));
  }
  root.append(svg("text", { x: (W + m.l) / 2, y: H - 3, class: "axis-label", "text-anchor": "middle" }, "layer"));
  root.append(svg("text", { x: 11, y: (H - m.b) / 2, class: "axis-label", "text-anchor": "middle", transform: `rotate(-90 11 ${(H - m.b) / 2})` }, "RF (px)"));

  // input size
  root.append(svg("line", { x1: m.l, y1: y(inputSize), x2: W - m.r, y2: y(inputSize), class: "input-line" }));
  root.append(svg("text", { x: W - m.r - 2, y: y(inputSize) - 3, class: "tick", "text-anchor": "end" }, `input ${inputSize}`));

  const path = (key) => series.map((p, i) => `${i ? "L" : "M"}${x(p.index).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
  if (series.length) {
    root.append(svg("path", { d: path("linear"), class: "linear-line" }));
    root.append(svg("path", { d: path("rf"), class: "rf-line" }));
  }
  for (const p of series) {
    const dot = svg("circle", { cx: x(p.index), cy: y(p.rf), r: p.index === unitLayer ? 5 : 3, class: p.index === unitLayer ? "rf-dot unit" : "rf-dot" });
    dot.append(svg("title", {}, `layer ${p.index + 1} (${p.type}): RF ${p.rf} px; stride-1 line ${p.linear}`));
    root.append(dot);
  }
  // legend
  const lg = svg("g", { transform: `translate(${m.l + 8}, ${m.t + 6})` });
  lg.append(svg("line", { x1: 0, y1: 0, x2: 16, y2: 0, class: "rf-line" }));
  lg.append(svg("text", { x: 20, y: 4, class: "tick" }, "this stack"));
  lg.append(svg("line", { x1: 0, y1: 14, x2: 16, y2: 14, class: "linear-line" }));
  lg.append(svg("text", { x: 20, y: 18, class: "tick" }, "stride 1, no pooling: 1 + Σ(k−1)"));
  root.append(lg);
  container.replaceChildren(root);
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const f of [1, 2, 5, 10]) if (f * p >= raw) return f * p;
  return 10 * p;
}
