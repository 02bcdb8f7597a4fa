// PyTorch vs TensorFlow/Keras for the same layer settings: a table of every
// variant ("valid", "same", explicit padding, pooling floor/ceil_mode/"same")
// from the server's app.labs.family.frameworks, and two of them drawn on the input grid —
// padding hatched, dropped rows/columns crossed, the first and last window
// outlined, each cell labelled with how many windows read it.

import { convOutputSize } from "../../shape.js";
import { el } from "../../ui.js";
import { numberControl, panel, postForView, selectControl } from "./controls.js";
import { KIND, NumberGrid, figure } from "./grid.js";

export const FIELDS = [
  { name: "family.f.h", def: 8 },
  { name: "family.f.w", def: 7 },
  { name: "family.f.k", def: 3 },
  { name: "family.f.s", def: 2 },
  { name: "family.f.d", def: 1 },
  { name: "family.f.p", def: 1 },
  { name: "family.f.pk", def: 2 },
  { name: "family.f.ps", def: 2 },
  { name: "family.f.pp", def: 0 },
  { name: "family.f.a", def: "torch-conv-explicit" },
  { name: "family.f.b", def: "tf-conv-same" },
];

const KEYS = FIELDS.map((f) => f.name).concat(["family.view", "image", "color", "maxSide"]);
const MAX_SIDE = 512; // the server's limit for one axis
const VARIANTS = [
  ["torch-conv-valid", "PyTorch conv, 'valid'"],
  ["torch-conv-same", "PyTorch conv, 'same'"],
  ["torch-conv-explicit", "PyTorch conv, padding=p"],
  ["tf-conv-valid", "TF/Keras conv, \"valid\""],
  ["tf-conv-same", "TF/Keras conv, \"same\""],
  ["torch-pool-floor", "PyTorch pool (floor)"],
  ["torch-pool-ceil", "PyTorch pool, ceil_mode"],
  ["tf-pool-valid", "TF/Keras pool, \"valid\""],
  ["tf-pool-same", "TF/Keras pool, \"same\""],
];

/** How many windows read each index along one axis, from −pad_before to n + pad_after + overhang − 1. */
export function coverage(plan) {
  const size = plan.pad_before + plan.n + plan.pad_after + plan.overhang;
  const count = new Array(size).fill(0);
  for (const start of plan.starts) for (let a = 0; a < plan.kernel; a++) {
    const j = start + a * plan.dilation + plan.pad_before;
    if (j >= 0 && j < size) count[j] += 1;
  }
  return count;
}

function axisKinds(plan) {
  const size = plan.pad_before + plan.n + plan.pad_after + plan.overhang;
  return Array.from({ length: size }, (_, j) => {
    const i = j - plan.pad_before;
    if (i >= plan.n + plan.pad_after) return KIND.beyond;
    if (i < 0 || i >= plan.n) return KIND.padding;
    if (plan.dropped.includes(i)) return KIND.dropped;
    if (plan.skipped.includes(i)) return KIND.skipped;
    return KIND.normal;
  });
}

const RANK = [0, 3, 1, 4, 5, 2, 6]; // which kind wins where a row and a column kind meet

function padText(row) {
  if (!row.out) return "—";
  const { h, w } = row;
  return `top ${h.pad_before}, bottom ${h.pad_after}, left ${w.pad_before}, right ${w.pad_after}`;
}

function lostText(row) {
  if (!row.out) return "—";
  const parts = [];
  const { h, w } = row;
  if (h.dropped.length) parts.push(`drops row${h.dropped.length > 1 ? "s" : ""} ${h.dropped.join(", ")}`);
  if (w.dropped.length) parts.push(`drops col${w.dropped.length > 1 ? "s" : ""} ${w.dropped.join(", ")}`);
  if (h.skipped.length) parts.push(`never reads row${h.skipped.length > 1 ? "s" : ""} ${h.skipped.join(", ")}`);
  if (w.skipped.length) parts.push(`never reads col${w.skipped.length > 1 ? "s" : ""} ${w.skipped.join(", ")}`);
  if (h.overhang || w.overhang) parts.push(`last window hangs ${Math.max(h.overhang, w.overhang)} past the edge`);
  return parts.join("; ") || "every cell read";
}

export function mount(cols, ctx) {
  const { state } = ctx;
  const controls = panel(cols.controls, "Layer settings");
  const ctl = [
    numberControl(state, "family.f.h", "Input H", { min: 1, max: MAX_SIDE, testid: "framework-h" }),
    numberControl(state, "family.f.w", "Input W", { min: 1, max: MAX_SIDE, testid: "framework-w" }),
    numberControl(state, "family.f.k", "Conv kernel", { min: 1, max: 9, testid: "framework-kernel" }),
    numberControl(state, "family.f.s", "Conv stride", { min: 1, max: 6, testid: "framework-stride" }),
    numberControl(state, "family.f.d", "Dilation", { min: 1, max: 4, testid: "framework-dilation" }),
    numberControl(state, "family.f.p", "PyTorch pad", { min: 0, max: 8, testid: "framework-padding", title: "explicit padding for nn.Conv2d(padding=p)" }),
    numberControl(state, "family.f.pk", "Pool window", { min: 1, max: 8, testid: "framework-pool-kernel" }),
    numberControl(state, "family.f.ps", "Pool stride", { min: 1, max: 8, testid: "framework-pool-stride" }),
    numberControl(state, "family.f.pp", "Pool pad", { min: 0, max: 4, testid: "framework-pool-padding" }),
  ];
  controls.append(...ctl.slice(0, 2).map((c) => c.row));
  // The current image's own size, as the layer would meet it.
  let imageShape = null;
  const useImage = el("button", { type: "button", "data-testid": "framework-use-image", disabled: true }, "Use the image's size");
  useImage.addEventListener("click", () => {
    if (imageShape) state.set({ "family.f.h": Math.min(MAX_SIDE, imageShape[1]), "family.f.w": Math.min(MAX_SIDE, imageShape[2]) });
  });
  controls.append(el("div", { class: "row" }, el("span", { class: "label" }), useImage), ...ctl.slice(2).map((c) => c.row));
  async function readImageShape(s) {
    try {
      const px = await ctx.image.withImage(s.image, (id) => ctx.image.getPixels(id, s.color));
      imageShape = [...px.shape];
      useImage.disabled = false;
      useImage.textContent = `Use the image's size (${imageShape[1]} × ${imageShape[2]})`;
    } catch {
      imageShape = null;
      useImage.disabled = true;
    }
  }
  const pickA = selectControl(state, "family.f.a", "Draw A", VARIANTS, { testid: "framework-a" });
  const pickB = selectControl(state, "family.f.b", "Draw B", VARIANTS, { testid: "framework-b" });
  const picks = panel(cols.controls, "Compare on the grid");
  picks.append(pickA.row, pickB.row);

  const tablePanel = panel(cols.pictures, "What each framework computes");
  const tableWrap = el("div", { "data-testid": "framework-table" });
  tablePanel.append(tableWrap);
  const gridsRow = el("div", { class: "fam-row" });
  tablePanel.before(gridsRow); // the pictures first, the table of every variant below
  const views = ["a", "b"].map((side) => {
    const fig = figure(gridsRow, "", { testid: `framework-figure-${side}` });
    const out = el("div", { class: "formula", "data-testid": `framework-out-${side}` });
    fig.body.before(out);
    const grid = new NumberGrid(fig.body, { testid: `framework-grid-${side}`, label: `input grid ${side}`, maxCell: 26, minCell: 1, maxW: 300, maxH: 300, name: "windows reading this cell" });
    const msg = el("p", { class: "warn", hidden: true });
    fig.body.append(msg);
    return { fig, out, grid, msg };
  });
  // The key to the grids, right under them: what the numbers and each mark mean.
  const swatch = (cls) => el("span", { class: `fam-swatch ${cls}`, "aria-hidden": "true" });
  gridsRow.after(el("ul", { class: "fam-legend", "data-testid": "framework-legend", "aria-label": "How to read the grids" },
    el("li", {}, el("span", { class: "fam-swatch fam-swatch-number", "aria-hidden": "true" }, "2"), "a number in a cell: how many windows read that cell (0: no window reads it)"),
    el("li", {}, swatch("fam-swatch-pad"), "hatched: padding, zeros added around the input"),
    el("li", {}, swatch("fam-swatch-beyond"), "light hatching: where a ceil_mode window hangs past the padded input (read as nothing)"),
    el("li", {}, el("span", { class: "fam-mark-red", "aria-hidden": "true" }, "✗"), "red ✗: rows/columns the floor drops (no window reaches them)"),
    el("li", {}, el("span", { class: "fam-mark-amber", "aria-hidden": "true" }, "✗"), "amber ✗: cells the stride or dilation skips"),
    el("li", {}, swatch("fam-swatch-first"), "blue box: the first window; ", swatch("fam-swatch-last"), "pink dashed: the last")));

  // One plain answer per framework, in words, before the formulas.
  const answerPanel = panel(cols.explain, "The answer, framework by framework");
  const answers = el("div", { class: "fam-answers", "data-testid": "framework-answers" });
  answerPanel.append(answers);

  const explainPanel = panel(cols.explain, "Why they differ");
  const explain = el("div", { class: "formula", "data-testid": "framework-explain" });
  explainPanel.append(explain);

  function drawPlan(view, row) {
    view.fig.figure.querySelector("figcaption").textContent = row.code;
    if (!row.out) {
      view.out.textContent = `${row.framework}: refuses these settings`;
      view.msg.hidden = false;
      view.msg.textContent = row.error;
      view.grid.canvas.hidden = true;
      return;
    }
    view.msg.hidden = true;
    view.grid.canvas.hidden = false;
    view.out.textContent = `${row.framework}: output ${row.out[0]} × ${row.out[1]}`;
    const ch = coverage(row.h);
    const cw = coverage(row.w);
    const kh = axisKinds(row.h);
    const kw = axisKinds(row.w);
    const values = [];
    const kinds = [];
    for (let r = 0; r < ch.length; r++) for (let c = 0; c < cw.length; c++) {
      values.push(ch[r] * cw[c]);
      kinds.push(RANK[kh[r]] >= RANK[kw[c]] ? kh[r] : kw[c]);
    }
    const top = values.reduce((m, v) => (v > m ? v : m), 1); // no spread: an image-sized grid has 100k+ cells
    view.grid.set(values, ch.length, cw.length, { kinds, range: [0, top] });
    const box = (i, j, color, dash) => ({
      row: row.h.starts[i] + row.h.pad_before, col: row.w.starts[j] + row.w.pad_before,
      h: row.h.span, w: row.w.span, color, dash, width: 3,
    });
    view.grid.setBoxes([box(0, 0, "#1f5fae"), box(row.h.starts.length - 1, row.w.starts.length - 1, "#ff2d95", [6, 4])]);
  }

  /** TensorFlow's and PyTorch's conv "same" for these settings, one plain line each. */
  function renderAnswers(s, rows) {
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    const tf = byId["tf-conv-same"];
    const torch = byId["torch-conv-same"];
    const [H, W, k, st, d] = ["h", "w", "k", "s", "d"].map((key) => s[`family.f.${key}`]);
    const pads = (r) => `${r.h.pad_before} top and ${r.h.pad_after} bottom, ${r.w.pad_before} left and ${r.w.pad_after} right`;
    const lines = [];
    if (tf.out) {
      lines.push(el("p", { "data-testid": "framework-answer-tf" }, el("strong", {}, "TensorFlow/Keras, padding=\"same\": "),
        `pads ${pads(tf)} → output ${tf.out[0]} × ${tf.out[1]} (⌈n / stride⌉ on each axis; an odd total puts the extra row/column at the bottom/right).`));
    } else {
      lines.push(el("p", { "data-testid": "framework-answer-tf" }, el("strong", {}, "TensorFlow/Keras: "), tf.error));
    }
    let torchLine;
    if (torch.out) {
      torchLine = [`padding='same' pads ${pads(torch)} → output ${torch.out[0]} × ${torch.out[1]}.`];
    } else {
      // The smallest symmetric padding=p that gives TensorFlow's output size, if one does.
      const stand = tf.out && Array.from({ length: d * (k - 1) + 2 }, (_, p) => p)
        .find((p) => convOutputSize(H, k, st, p, d) === tf.out[0] && convOutputSize(W, k, st, p, d) === tf.out[1]);
      torchLine = [`refuses padding='same' at stride ${st}. `];
      if (stand === undefined) {
        torchLine.push("No single padding=p gives TensorFlow's output size here: pad by hand (F.pad) with TensorFlow's amounts, then use padding=0.");
      } else {
        const tfPads = [tf.h.pad_before, tf.h.pad_after, tf.w.pad_before, tf.w.pad_after];
        const sameWindows = tfPads.every((v) => v === stand);
        torchLine.push(el("code", {}, `padding=${stand}`), ` stands in: the same ${tf.out[0]} × ${tf.out[1]} output, padding ${stand} on every side` +
          (sameWindows ? ", exactly TensorFlow's windows." : `, so the windows sit where TensorFlow's do not (it pads ${pads(tf)}): same size, different numbers at the border.`));
      }
    }
    lines.push(el("p", { "data-testid": "framework-answer-torch" }, el("strong", {}, "PyTorch: "), ...torchLine));
    answers.replaceChildren(...lines);
  }

  function renderExplain(s, rows) {
    const H = s["family.f.h"];
    const W = s["family.f.w"];
    const k = s["family.f.k"];
    const st = s["family.f.s"];
    const d = s["family.f.d"];
    const same = rows.find((r) => r.id === "tf-conv-same");
    const lines = [
      el("div", {}, `TF "same": out = ⌈n/s⌉, total pad = max((out − 1)·s + d·(k − 1) + 1 − n, 0), the odd one at the bottom/right.`),
    ];
    if (same.out) {
      for (const [axis, n, plan] of [["H", H, same.h], ["W", W, same.w]]) {
        const total = plan.pad_before + plan.pad_after;
        lines.push(el("div", {}, `${axis}: ⌈${n}/${st}⌉ = ${plan.out}; pad = max((${plan.out} − 1)·${st} + ${d}·(${k} − 1) + 1 − ${n}, 0) = ${total} → ${plan.pad_before} before, ${plan.pad_after} after`));
      }
    } else {
      lines.push(el("div", { class: "warn" }, same.error));
    }
    lines.push(el("div", {}, `PyTorch: out = ⌊(n + 2p − d·(k − 1) − 1)/s⌋ + 1, padding the same on both sides; padding='same' only at stride 1.`));
    lines.push(el("div", {}, "Pooling: PyTorch floors unless ceil_mode=True, which adds a last window if it starts inside the input or its left padding. Keras max pooling ignores the padded cells; Keras average pooling leaves them out of the count, while PyTorch's AvgPool2d counts explicit padding (count_include_pad=True)."));
    explain.replaceChildren(...lines);
  }

  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      [...ctl, pickA, pickB].forEach((c) => c.render(s));
      if (changed.includes("image") || changed.includes("color") || changed.includes("maxSide") || !imageShape) readImageShape(s);
      const answer = await postForView({ state, pictures: cols.pictures }, s, "/api/frameworks/compare", {
        height: s["family.f.h"], width: s["family.f.w"], kernel: s["family.f.k"], stride: s["family.f.s"],
        dilation: s["family.f.d"], padding: s["family.f.p"], pool_kernel: s["family.f.pk"],
        pool_stride: s["family.f.ps"], pool_padding: s["family.f.pp"],
      }, "family-frameworks");
      if (!answer) return;
      const rows = answer.rows;
      const selected = [s["family.f.a"], s["family.f.b"]];
      const table = el("table", { class: "numbers fam-framework-table" },
        el("thead", {}, el("tr", {}, el("th", {}, "layer"), el("th", {}, "output"), el("th", {}, "padding"), el("th", {}, "lost / extra"), el("th", {}, "draw"))),
        el("tbody", {}, ...rows.map((row) => el("tr", {
          "data-row": row.id,
          class: [row.op === "pool" && row.id.endsWith("floor") ? "fam-sep" : "", selected.includes(row.id) ? "fam-current" : ""].join(" ").trim() || null,
        },
        el("td", {}, el("div", { class: "fam-fw" }, row.framework), el("code", {}, row.code)),
        el("td", { "data-testid": `framework-size-${row.id}` }, row.out ? `${row.out[0]} × ${row.out[1]}` : "error"),
        el("td", {}, row.out ? padText(row) : el("span", { class: "bad" }, row.error)),
        el("td", {}, lostText(row)),
        el("td", {},
          el("button", { type: "button", "aria-label": `draw ${row.code} as A`, onclick: () => state.set({ "family.f.a": row.id }) }, "A"),
          el("button", { type: "button", "aria-label": `draw ${row.code} as B`, onclick: () => state.set({ "family.f.b": row.id }) }, "B"))))));
      tableWrap.replaceChildren(table);
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      drawPlan(views[0], byId[s["family.f.a"]] || byId["torch-conv-explicit"]);
      drawPlan(views[1], byId[s["family.f.b"]] || byId["tf-conv-same"]);
      renderAnswers(s, rows);
      renderExplain(s, rows);
    },
  };
}
