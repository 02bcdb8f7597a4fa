// Loss and held-out accuracy against epochs, as SVG: accuracy solid on a 0–100 %
// axis (right), loss dashed on its own axis (left), the 95 % target marked.

const NS = "http://www.w3.org/2000/svg";
const W = 560;
const H = 190;
const M = { left: 44, right: 46, top: 10, bottom: 28 };

function node(tag, attrs = {}, text = null) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== null) n.textContent = text;
  return n;
}

/** Redraw the chart in `svg` from points [{epoch, loss, accuracy}]. */
export function drawCurves(svg, points) {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const maxEpoch = Math.max(1, ...points.map((p) => p.epoch));
  const maxLoss = Math.max(0.5, Math.min(3, Math.max(...points.map((p) => p.loss), 0)));
  const x = (e) => M.left + (e / maxEpoch) * pw;
  const yAcc = (a) => M.top + (1 - a) * ph;
  const yLoss = (l) => M.top + (1 - Math.min(l, maxLoss) / maxLoss) * ph;
  const parts = [];

  for (const a of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(node("line", { x1: M.left, x2: M.left + pw, y1: yAcc(a), y2: yAcc(a), class: "grid" }));
    parts.push(node("text", { x: M.left + pw + 4, y: yAcc(a) + 4, class: "tick acc-tick" }, `${a * 100} %`));
    parts.push(node("text", { x: M.left - 4, y: yAcc(a) + 4, class: "tick loss-tick", "text-anchor": "end" },
      (maxLoss * a).toFixed(2)));
  }
  parts.push(node("line", { x1: M.left, x2: M.left + pw, y1: yAcc(0.95), y2: yAcc(0.95), class: "target" }));
  parts.push(node("text", { x: M.left + pw - 4, y: yAcc(0.95) + 11, class: "tick target-label", "text-anchor": "end" }, "target 95 %"));
  const ticks = Math.min(8, Math.ceil(maxEpoch));
  for (let i = 0; i <= ticks; i++) {
    const e = (maxEpoch * i) / ticks;
    parts.push(node("text", { x: x(e), y: H - 12, class: "tick", "text-anchor": "middle" }, Number.isInteger(e) ? String(e) : e.toFixed(1)));
  }
  parts.push(node("text", { x: M.left + pw / 2, y: H - 1, class: "axis-label", "text-anchor": "middle" }, "epoch"));

  if (points.length) {
    const line = (fy, key) => points.map((p) => `${x(p.epoch).toFixed(1)},${fy(p[key]).toFixed(1)}`).join(" ");
    parts.push(node("polyline", { points: line(yLoss, "loss"), class: "loss-line", "data-testid": "train-loss-line" }));
    parts.push(node("polyline", { points: line(yAcc, "accuracy"), class: "acc-line", "data-testid": "train-acc-line" }));
    const last = points[points.length - 1];
    parts.push(node("circle", { cx: x(last.epoch), cy: yAcc(last.accuracy), r: 3.5, class: "acc-dot" }));
  }
  // Legend: the line style says which is which, not only the colour.
  // Placed mid-right, where a learning curve (accuracy high, loss low) leaves room.
  const lx = M.left + pw * 0.45;
  const ly = yAcc(0.62);
  parts.push(node("line", { x1: lx, x2: lx + 24, y1: ly, y2: ly, class: "acc-line" }));
  parts.push(node("text", { x: lx + 28, y: ly + 4, class: "legend" }, "held-out accuracy (right axis)"));
  parts.push(node("line", { x1: lx, x2: lx + 24, y1: ly + 16, y2: ly + 16, class: "loss-line" }));
  parts.push(node("text", { x: lx + 28, y: ly + 20, class: "legend" }, "training loss (left axis)"));
  svg.replaceChildren(...parts);
  svg.dataset.points = String(points.length);
}
