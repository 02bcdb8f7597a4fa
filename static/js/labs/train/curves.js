// Loss, validation and held-out accuracy against epochs, as SVG: held-out accuracy
// solid on a 0–100 % axis (right), validation accuracy dotted with square marks (the
// chapter's model: one point per epoch), loss dashed on its own axis (left).
// Compare mode draws the previous run's curves thin and faded, with hollow marks,
// and the legend names the settings of both runs, so they differ by more than colour.

const NS = "http://www.w3.org/2000/svg";
const W = 560;
const H = 270;
const M = { left: 44, right: 46, top: 10, bottom: 88 }; // the legend sits under the epoch axis

function node(tag, attrs = {}, text = null) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== null) n.textContent = text;
  return n;
}

/**
 * Redraw the chart in `svg` from points [{epoch, loss, accuracy, val_accuracy?}].
 * `opts`: `maxEpoch` (the run's end, so the axis does not stretch as it trains),
 * `target` (an accuracy line to mark, or null), `label` (this run's settings), and
 * `previous` = {points, label} to overlay.
 */
export function drawCurves(svg, points, { maxEpoch = 0, target = 0.95, label = "", previous = null } = {}) {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const all = previous ? points.concat(previous.points) : points;
  const end = Math.max(1, maxEpoch, ...all.map((p) => p.epoch));
  const maxLoss = Math.max(0.5, Math.min(3, Math.max(...all.map((p) => p.loss), 0)));
  const x = (e) => M.left + (e / end) * pw;
  const yAcc = (a) => M.top + (1 - a) * ph;
  const yLoss = (l) => M.top + (1 - Math.min(l, maxLoss) / maxLoss) * ph;
  const parts = [];

  for (const a of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(node("line", { x1: M.left, x2: M.left + pw, y1: yAcc(a), y2: yAcc(a), class: "grid" }));
    parts.push(node("text", { x: M.left + pw + 4, y: yAcc(a) + 4, class: "tick acc-tick" }, `${a * 100} %`));
    parts.push(node("text", { x: M.left - 4, y: yAcc(a) + 4, class: "tick loss-tick", "text-anchor": "end" },
      (maxLoss * a).toFixed(2)));
  }
  if (target) {
    parts.push(node("line", { x1: M.left, x2: M.left + pw, y1: yAcc(target), y2: yAcc(target), class: "target" }));
    parts.push(node("text", { x: M.left + pw - 4, y: yAcc(target) + 11, class: "tick target-label", "text-anchor": "end" },
      `target ${Math.round(target * 100)} %`));
  }
  const ticks = Math.min(10, Math.ceil(end));
  for (let i = 0; i <= ticks; i++) {
    const e = (end * i) / ticks;
    parts.push(node("text", { x: x(e), y: M.top + ph + 14, class: "tick", "text-anchor": "middle" }, Number.isInteger(e) ? String(e) : e.toFixed(1)));
  }
  parts.push(node("text", { x: M.left + pw / 2, y: M.top + ph + 26, class: "axis-label", "text-anchor": "middle" }, "epoch"));

  function lines(pts, faded) {
    if (!pts.length) return;
    const cls = faded ? " faded" : "";
    const tid = (id) => (faded ? {} : { "data-testid": id });
    const line = (fy, key) => pts.filter((p) => p[key] !== null && p[key] !== undefined)
      .map((p) => `${x(p.epoch).toFixed(1)},${fy(p[key]).toFixed(1)}`).join(" ");
    parts.push(node("polyline", { points: line(yLoss, "loss"), class: `loss-line${cls}`, ...tid("train-loss-line") }));
    parts.push(node("polyline", { points: line(yAcc, "accuracy"), class: `acc-line${cls}`, ...tid("train-acc-line") }));
    const val = pts.filter((p) => p.val_accuracy !== null && p.val_accuracy !== undefined);
    if (val.length) {
      parts.push(node("polyline", { points: line(yAcc, "val_accuracy"), class: `val-line${cls}`, ...tid("train-val-line") }));
      for (const p of val) {
        parts.push(node("rect", { x: x(p.epoch) - 2.5, y: yAcc(p.val_accuracy) - 2.5, width: 5, height: 5, class: `val-mark${cls}` }));
      }
    }
    const last = pts[pts.length - 1];
    parts.push(node("circle", { cx: x(last.epoch), cy: yAcc(last.accuracy), r: faded ? 3 : 3.5, class: `acc-dot${cls}` }));
  }
  if (previous) lines(previous.points, true);
  lines(points, false);

  // Legend, under the axis: line style and marks say which is which, not only the colour.
  const hasVal = all.some((p) => p.val_accuracy !== null && p.val_accuracy !== undefined);
  const entries = [["acc-line", "held-out accuracy (right axis)"], ["loss-line", "training loss (left axis)"]];
  if (hasVal) entries.splice(1, 0, ["val-line", "validation accuracy ▪ (right)"]);
  const top = M.top + ph + 42;
  entries.forEach(([cls, text], i) => {
    const lx = M.left + (i % 2) * (pw / 2);
    const ly = top + Math.floor(i / 2) * 14;
    parts.push(node("line", { x1: lx, x2: lx + 22, y1: ly - 4, y2: ly - 4, class: cls }));
    parts.push(node("text", { x: lx + 26, y: ly, class: "legend" }, text));
  });
  if (previous) {
    // Compare mode: which run is which, by line weight and words.
    const lx = M.left;
    const ly = top + 28;
    parts.push(node("line", { x1: lx, x2: lx + 22, y1: ly - 4, y2: ly - 4, class: "acc-line" }));
    parts.push(node("text", { x: lx + 26, y: ly, class: "legend run-label", "data-testid": "train-compare-legend" },
      `bold: this run${label ? ` (${label})` : ""}`));
    parts.push(node("line", { x1: lx, x2: lx + 22, y1: ly + 10, y2: ly + 10, class: "acc-line faded" }));
    parts.push(node("text", { x: lx + 26, y: ly + 14, class: "legend run-label" }, `faded: previous (${previous.label})`));
  }
  svg.replaceChildren(...parts);
  svg.dataset.points = String(points.length);
  svg.dataset.previous = previous ? String(previous.points.length) : "0";
}
