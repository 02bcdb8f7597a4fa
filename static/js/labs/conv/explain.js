// The multiply-add behind one output pixel, written out with the actual numbers:
// per input channel of the filter's group (with groups > 1 a filter sees only
// C_in/groups channels), input × weight for every tap of the (dilated, strided)
// window, the channel sums, + bias, the ReLU if on. The sum is computed here in
// float64 from the exact float32 pixels and printed next to the server's value
// ("…" while the exact maps are still on their way).

import { fmt } from "../../heatmap.js";
import { el } from "../../ui.js";
import { appliedWeight, filterChannels } from "./model.js";

export const SUM_DECIMALS = 4;

/**
 * The terms and the sum at output (f, row, col).
 * padded: {values (C, Hp, Wp)}; g: geometry; wts: model.weights(); flip, relu: booleans.
 */
export function multiplyAdd(padded, g, wts, f, row, col, { flip, relu }) {
  const values = padded.values; // computed on first use (input-view.js)
  const [, hp, wp] = values.shape;
  const r0 = row * g.sh;
  const c0 = col * g.sw;
  const { first, count, group } = filterChannels(wts, f);
  const channels = [];
  let total = 0;
  for (let c = 0; c < count; c++) {
    const input = first + c;
    const terms = [];
    let sum = 0;
    for (let a = 0; a < g.kh; a++) {
      for (let b = 0; b < g.kw; b++) {
        const pr = r0 + a * g.dh;
        const pc = c0 + b * g.dw;
        const x = values[input * hp * wp + pr * wp + pc];
        const w = Math.fround(appliedWeight(wts, f, c, a, b, flip)); // the server computes with float32 weights
        sum += x * w;
        terms.push({ a, b, pr, pc, x, w });
      }
    }
    total += sum;
    channels.push({ c: input, slice: c, terms, sum });
  }
  const bias = Math.fround(wts.bias[f]);
  const pre = total + bias;
  return { channels, bias, pre, value: relu ? Math.max(0, pre) : pre, relu, group, groups: wts.groups, cin: wts.cin };
}

const CH = { 1: ["x"], 3: ["R", "G", "B"] };
const signed = (v) => (v < 0 ? `(${fmt(v, 4)})` : fmt(v, 4));

export function renderExplain(root, where, info, { serverValue, serverPending = false, preset, flip, g }) {
  const names = CH[info.cin] || Array.from({ length: info.cin }, (_, c) => `c${c}`);
  where.textContent = `filter ${info.f} · (row ${info.row}, col ${info.col})`;
  const blocks = [];
  blocks.push(el("p", { class: "explain-lead", "data-testid": "explain-window" },
    `The window's top-left corner in the padded input (padding ring counted): row ${info.row} × stride ${g.sh} = ${info.row * g.sh}, ` +
    `column ${info.col} × stride ${g.sw} = ${info.col * g.sw}`,
    g.dh > 1 || g.dw > 1 ? `, taps every ${g.dh}×${g.dw}` : "",
    flip ? "; kernel flipped (true convolution)" : "", `; ${preset}.`));
  if (info.groups > 1) {
    const seen = info.channels.map((ch) => names[ch.c]).join(", ");
    blocks.push(el("p", { class: "explain-group", "data-testid": "explain-group" },
      `groups ${info.groups}: filter ${info.f} is in group ${info.group} and sees only channel${info.channels.length > 1 ? "s" : ""} ${seen}.`));
  }
  for (const ch of info.channels) {
    const kw = g.kw;
    const table = el("table", { class: "madd", "aria-label": `channel ${names[ch.c]}: input × weight per tap` });
    for (let a = 0; a < g.kh; a++) {
      const tr = el("tr");
      for (let b = 0; b < kw; b++) {
        const t = ch.terms[a * kw + b];
        tr.append(el("td", { title: `padded (${t.pr}, ${t.pc}) × w[${a},${b}] = ${fmt(t.x * t.w, 6)}` },
          el("span", { class: "mx" }, fmt(t.x, 3)), el("span", { class: "mop" }, "×"), el("span", { class: "mw" }, signed(t.w))));
      }
      table.append(tr);
    }
    blocks.push(el("div", { class: "madd-block", "data-channel": String(ch.c) },
      info.cin > 1 ? el("div", { class: "madd-ch" }, `channel ${names[ch.c]}`) : null,
      table,
      el("div", { class: "madd-sum" }, `Σ ${names[ch.c]} = ${ch.sum.toFixed(SUM_DECIMALS)}`)));
  }
  const parts = info.channels.map((ch) => ch.sum.toFixed(SUM_DECIMALS));
  const eq = `${parts.join(" + ")} + bias ${signed(info.bias)} = ${info.pre.toFixed(SUM_DECIMALS)}`;
  blocks.push(el("p", { class: "formula madd-total" }, eq));
  if (info.relu) blocks.push(el("p", { class: "formula" }, `ReLU: max(0, ${info.pre.toFixed(SUM_DECIMALS)}) = ${info.value.toFixed(SUM_DECIMALS)}`));
  const computed = info.value.toFixed(SUM_DECIMALS);
  const server = serverValue === null || serverValue === undefined ? null : serverValue.toFixed(SUM_DECIMALS);
  const match = server !== null && server === computed;
  blocks.push(el("p", { class: "madd-result" },
    el("span", {}, "sum "), el("strong", { "data-testid": "explain-sum", "data-value": String(info.value) }, computed),
    el("span", { class: "hint" }, " (added up in this page, in double precision: float64)"),
    server === null
      ? serverPending ? el("span", { class: "hint" }, " · the server's map: on its way …") : null
      : el("span", {}, " · the server's map (float32) holds ", el("strong", { "data-testid": "explain-server", "data-value": String(serverValue) }, server),
        el("span", { class: match ? "ok" : "bad" }, match ? ` equal to ${SUM_DECIMALS} decimals` : " differ"))));
  root.replaceChildren(...blocks);
  // Screen readers hear the result in one sentence; the table above carries every term.
  const live = root.parentElement?.querySelector(".conv-explain-live");
  if (live) {
    const sums = info.channels.map((ch) => `channel ${names[ch.c]} ${ch.sum.toFixed(SUM_DECIMALS)}`).join(", ");
    live.textContent = `Filter ${info.f}, row ${info.row}, column ${info.col}: ${sums}, plus bias ${info.bias}` +
      `${info.relu ? ", then ReLU" : ""}, gives ${computed}.`;
  }
}
