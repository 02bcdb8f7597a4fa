// The output-size panel (eq. 36.4 with dilation, both axes, the user's numbers)
// and the cost panel (36.5 vs 36.6, 36.11, activation memory). Pure rendering
// from the geometry that shape.js computed; nothing waits for the server.

import { activationBytes, convMacs, convOutputSizePadded, convParams, denseParams, effectiveKernel, formatBytes } from "../../shape.js";
import { el } from "../../ui.js";

const int = (n) => Math.round(n).toLocaleString("en-US");

/** 12,345,678 -> "12.3 M"; small numbers stay exact. */
export function human(n) {
  const a = Math.abs(n);
  if (a >= 1e12) return `${(n / 1e12).toPrecision(3)} T`;
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)} G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)} k`;
  return int(n);
}

/** One axis of the formula: {text, value, empty}. `pads` = [before, after]. */
function axisFormula(name, n, k, s, d, pads) {
  const span = effectiveKernel(k, d);
  const padText = pads[0] === pads[1] ? `2·${pads[0]}` : `${pads[0]} + ${pads[1]}`;
  const inner = n + pads[0] + pads[1] - span;
  let value = null; // null: no output (the kernel does not fit, or a knob is below 1)
  try {
    value = convOutputSizePadded(n, k, s, pads[0] + pads[1], d);
  } catch {
    // the geometry's error says which knob; the formula still shows the numbers
  }
  const empty = inner < 0;
  const formula = `${name}_out = ⌊(${n} + ${padText} − ${d}·(${k}−1) − 1) / ${s}⌋ + 1`;
  const text = `${formula} = ⌊${inner}/${s}⌋ + 1 = ${empty ? "empty" : value ?? "—"}`;
  return { text, formula, value, empty };
}

/**
 * Render the output-size panel. `g` is shape.convGeometry's answer (ok or not),
 * `raw` the numbers it was computed from (so an impossible setting still shows
 * the formula that proves it).
 */
export function renderOutputSize(root, g, raw) {
  const { h, w, kh, kw, sh, sw, dh, dw, pads, cout } = raw;
  const fh = axisFormula("H", h, kh, sh, dh, [pads[0], pads[1]]);
  const fw = axisFormula("W", w, kw, sw, dw, [pads[2], pads[3]]);
  const children = [el("h2", { class: "panel-title" }, "Output size ", el("span", { class: "hint" }, "eq. 36.4 with dilation"))];
  if (g.ok) {
    children.push(el("p", { class: "big size-result" }, `${g.hOut} × ${g.wOut}`,
      el("span", { class: "hint" }, `  × ${cout} filter${cout > 1 ? "s" : ""} · from ${h} × ${w}`)));
  } else {
    children.push(el("p", { class: "big size-result bad" }, fh.empty || fw.empty ? "empty output" : "not possible"));
  }
  if (g.ok || fh.empty || fw.empty) {
    children.push(el("p", { class: "formula" }, fh.text), el("p", { class: "formula" }, fw.text));
  } else {
    // An impossible setting (padding "same" at stride 5, reflect padding too wide…) has no
    // output size: the formula is shown with the numbers that would go in, not a result.
    children.push(el("p", { class: "formula" }, `${fh.formula} = ?`), el("p", { class: "formula" }, `${fw.formula} = ?`),
      el("p", { class: "warn", "data-testid": "size-impossible" }, g.error));
  }
  children.push(el("p", { class: "hint" }, "⌊·⌋ rounds down; d·(k−1)+1 is the dilated kernel's span."));
  const warnings = [];
  if (g.ok) {
    const drops = [];
    if (g.droppedH) drops.push(`${g.droppedH} row${g.droppedH > 1 ? "s" : ""} at the bottom`);
    if (g.droppedW) drops.push(`${g.droppedW} column${g.droppedW > 1 ? "s" : ""} at the right`);
    if (drops.length) warnings.push(`The floor drops ${drops.join(" and ")} of the padded input: no window reaches them.`);
    const [[sa, sb], [sc, sd]] = g.same;
    const keeps = sa === sb && sc === sd ? `${sa === sc ? sa : `${sa},${sc}`}` : `"same" (${sa}+${sb} rows, ${sc}+${sd} cols)`;
    if (g.hOut !== h || g.wOut !== w) {
      warnings.push(`${g.sh === 1 && g.sw === 1 ? "Padding" : "At stride 1, padding"} ${keeps} keeps the size ${h} × ${w}.`);
    }
  } else if (fh.empty || fw.empty) {
    warnings.push("The output is empty: the dilated kernel does not fit in the padded input.");
  }
  for (const text of warnings) children.push(el("p", { class: "warn" }, text));
  root.replaceChildren(...children);
}

export function renderCost(root, g, raw) {
  const { cin, cout, kh, kw, h, w } = raw;
  const groups = raw.groups || 1;
  const children = [el("h2", { class: "panel-title" }, "Cost")];
  if (!g.ok) {
    children.push(el("p", { class: "hint" }, "Needs a possible setting."));
    root.replaceChildren(...children);
    return;
  }
  const conv = convParams(cin, cout, kh, kw, true, groups);
  const nIn = cin * h * w;
  const nOut = cout * g.hOut * g.wOut;
  const dense = denseParams(nIn, nOut, true);
  const macs = convMacs(g.hOut, g.wOut, cout, cin, kh, kw, groups);
  const cinText = groups === 1 ? `${cin}` : `${cin}/${groups}`;
  const table = el("table", { class: "numbers cost-table" },
    el("tr", {}, el("th", {}, `Conv parameters (36.5)${groups > 1 ? `, groups ${groups}` : ""}`), el("td", { "data-testid": "conv-params" }, int(conv))),
    el("tr", { class: "cost-sub" }, el("td", { colspan: "2" }, `${cout}·(${cinText}·${kh}·${kw} + 1)`)),
    el("tr", {}, el("th", {}, "Dense, same in/out (36.6)"), el("td", { "data-testid": "dense-params" }, human(dense))),
    el("tr", { class: "cost-sub" }, el("td", { colspan: "2" }, `${int(nIn)}·${int(nOut)} + ${int(nOut)}`)),
    el("tr", {}, el("th", {}, "Dense ÷ conv"), el("td", { class: "ratio" }, `×${human(dense / conv)}`)),
    el("tr", {}, el("th", {}, "Multiply-adds (36.11)"), el("td", { "data-testid": "conv-macs" }, human(macs))),
    el("tr", { class: "cost-sub" }, el("td", { colspan: "2" }, `${g.hOut}·${g.wOut}·${cout}·${cinText}·${kh}·${kw}`)),
    el("tr", {}, el("th", {}, "Activations (float32)"), el("td", {}, `${formatBytes(activationBytes([cin, h, w]))} → ${formatBytes(activationBytes([cout, g.hOut, g.wOut]))}`)),
  );
  children.push(table, separable(g, raw));
  root.replaceChildren(...children);
}

/**
 * Standard k×k conv C_in → C_out against its depthwise-separable factorisation:
 * a depthwise k×k (groups = C_in, one filter per channel) then a pointwise 1×1
 * C_in → C_out, at the same output size.
 */
function separable(g, { cin, cout, kh, kw }) {
  const hw = g.hOut * g.wOut;
  const std = { params: convParams(cin, cout, kh, kw, true), macs: convMacs(g.hOut, g.wOut, cout, cin, kh, kw) };
  const dw = { params: convParams(cin, cin, kh, kw, true, cin), macs: convMacs(g.hOut, g.wOut, cin, cin, kh, kw, cin) };
  const pw = { params: convParams(cin, cout, 1, 1, true), macs: convMacs(g.hOut, g.wOut, cout, cin, 1, 1) };
  const sep = { params: dw.params + pw.params, macs: dw.macs + pw.macs };
  const ratio = sep.macs / std.macs;
  const row = (name, p, m, attrs = {}) => el("tr", attrs, el("th", {}, name), el("td", {}, int(p)), el("td", {}, human(m)));
  return el("div", { class: "separable", "data-testid": "separable" },
    el("h3", { class: "sub-title" }, "Depthwise-separable vs standard"),
    el("table", { class: "numbers sep-table" },
      el("tr", {}, el("th", {}, ""), el("th", {}, "params"), el("th", {}, "mult-adds")),
      row(`standard ${kh}×${kw}, ${cin}→${cout}`, std.params, std.macs),
      row(`depthwise ${kh}×${kw} (groups ${cin})`, dw.params, dw.macs, { class: "cost-sub-row" }),
      row(`+ pointwise 1×1, ${cin}→${cout}`, pw.params, pw.macs, { class: "cost-sub-row" }),
      row("separable total", sep.params, sep.macs),
    ),
    el("p", { class: "formula" }, "separable ÷ standard = ",
      el("strong", { "data-testid": "separable-ratio" }, `${(sep.params / std.params).toFixed(3)} (params) · ${ratio.toFixed(3)} (mult-adds)`)),
    el("p", { class: "hint" }, `mult-adds: 1/${cout} + 1/${kh * kw} = ${(1 / cout + 1 / (kh * kw)).toFixed(3)}; ${hw.toLocaleString("en-US")} output pixels each.`));
}
