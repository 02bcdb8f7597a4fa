// Groups and depthwise convolution: the kernel tensor drawn block by block
// (filter o sees input channel i only when both are in the same group), the
// parameters and multiply-adds for every valid number of groups (the server's
// app.arithmetic.conv_params/conv_macs with groups), and depthwise-separable
// (depthwise k×k, then pointwise 1×1) against a standard convolution.

import { markNumbers, planCellNumbers, sizeCanvas } from "../../heatmap.js";
import { el } from "../../ui.js";
import { numberControl, panel, postForView } from "./controls.js";

export const FIELDS = [
  { name: "family.g.cin", def: 8 },
  { name: "family.g.cout", def: 8 },
  { name: "family.g.k", def: 3 },
  { name: "family.g.hw", def: 32 },
  { name: "family.g.groups", def: 2 },
];

const KEYS = FIELDS.map((f) => f.name).concat(["family.view"]);
// Okabe–Ito: distinguishable under the common colour-vision deficiencies; numbers label each block too.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const nf = new Intl.NumberFormat("en-US");

function bar(percent) {
  const span = el("span", { class: "fam-bar" });
  span.style.width = `${percent}%`; // CSSOM, allowed by the page's style-src CSP (an inline style attribute is not)
  return span;
}

export function divisors(cin, cout) {
  const out = [];
  for (let g = 1; g <= Math.min(cin, cout); g++) if (cin % g === 0 && cout % g === 0) out.push(g);
  return out;
}

export function mount(cols, ctx) {
  const { state } = ctx;
  const controls = panel(cols.controls, "A grouped conv layer");
  const ctl = [
    numberControl(state, "family.g.cin", "C_in", { min: 1, max: 64, testid: "groups-cin" }),
    numberControl(state, "family.g.cout", "C_out", { min: 1, max: 64, testid: "groups-cout" }),
    numberControl(state, "family.g.k", "Kernel k×k", { min: 1, max: 7, testid: "groups-k" }),
    numberControl(state, "family.g.hw", "Input H = W", { min: 1, max: 512, testid: "groups-hw" }),
  ];
  controls.append(...ctl.map((c) => c.row));
  const slider = el("input", { type: "range", min: 0, max: 0, step: 1, id: "fam-groups-slider", "data-testid": "groups-slider" });
  const sliderValue = el("output", { for: "fam-groups-slider", class: "big", "data-testid": "groups-value" });
  controls.append(el("div", { class: "row" }, el("label", { for: "fam-groups-slider" }, "groups"), slider, sliderValue));
  const sliderHint = el("p", { class: "hint" });
  controls.append(sliderHint);
  slider.addEventListener("input", () => {
    const s = state.get();
    const list = divisors(s["family.g.cin"], s["family.g.cout"]);
    state.set({ "family.g.groups": list[Number(slider.value)] ?? 1 });
  });

  const tensorPanel = panel(cols.pictures, "The kernel tensor, drawn by group");
  const tensorCaption = el("p", { class: "formula", "data-testid": "groups-weight-shape" });
  const canvas = el("canvas", { class: "fam-groups-canvas", "data-testid": "groups-kernel", role: "img" });
  tensorPanel.append(tensorCaption, canvas, el("p", { class: "hint" }, "Row o = output filter, column i = input channel. A filled block is one k×k slice that exists; an empty one is a weight the grouped layer does not have. Blocks carry their group number."));
  const costPanel = panel(cols.pictures, "Cost for every valid number of groups");
  const bars = el("div", { "data-testid": "groups-bars" });
  costPanel.append(bars);

  const formulaPanel = panel(cols.explain, "This layer");
  const params = el("div", { class: "formula", "data-testid": "groups-params" });
  const macs = el("div", { class: "formula", "data-testid": "groups-macs" });
  formulaPanel.append(params, macs);
  const sepPanel = panel(cols.explain, "Depthwise-separable vs standard");
  const sep = el("div", { "data-testid": "groups-separable" });
  sepPanel.append(sep);

  function drawTensor(cin, cout, g) {
    const grow = document.documentElement.classList.contains("present") ? 1.6 : 1;
    const room = Math.min(440 * grow, (canvas.parentElement?.clientWidth || 440) - 4);
    const cell = Math.max(6, Math.min(30 * grow, Math.floor(room / cin), Math.floor((300 * grow) / cout)));
    const W = cin * cell + 1;
    const H = cout * cell + 1;
    const dpr = sizeCanvas(canvas, W, H);
    canvas.setAttribute("aria-label", `kernel tensor: ${cout} filters × ${cin} input channels in ${g} groups`);
    const c = canvas.getContext("2d");
    c.setTransform(dpr, 0, 0, dpr, 0.5 * dpr, 0.5 * dpr);
    const cinG = cin / g;
    const coutG = cout / g;
    // Blocks carry their group number when it fits at the page's minimum number size.
    const labels = [];
    for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) labels.push(Math.floor(o / coutG));
    const plan = planCellNumbers(c, labels, { cellW: cell, digits: 3 });
    markNumbers(canvas, plan);
    if (plan) c.font = plan.font;
    c.textAlign = "center";
    c.textBaseline = "middle";
    for (let o = 0; o < cout; o++) {
      for (let i = 0; i < cin; i++) {
        const go = Math.floor(o / coutG);
        const on = Math.floor(i / cinG) === go;
        c.fillStyle = on ? PALETTE[go % PALETTE.length] : "#f3f4f6";
        c.fillRect(i * cell, o * cell, cell, cell);
        c.strokeStyle = "rgba(0,0,0,0.25)";
        c.strokeRect(i * cell, o * cell, cell, cell);
        if (on && plan) {
          c.fillStyle = go % PALETTE.length === 6 || go % PALETTE.length === 4 ? "#000" : "#fff";
          c.fillText(String(go), i * cell + cell / 2, o * cell + cell / 2 + 0.5);
        }
      }
    }
    c.strokeStyle = "#111";
    c.lineWidth = 2;
    for (let q = 0; q < g; q++) c.strokeRect(q * cinG * cell, q * coutG * cell, cinG * cell, coutG * cell);
  }

  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      ctl.forEach((c) => c.render(s));
      const cin = s["family.g.cin"];
      const cout = s["family.g.cout"];
      const k = s["family.g.k"];
      const list = divisors(cin, cout);
      let g = s["family.g.groups"];
      if (!list.includes(g)) {
        // Snap to the largest valid groups not above the asked one.
        g = list.filter((v) => v <= g).pop() ?? 1;
        sliderHint.textContent = `groups must divide C_in = ${cin} and C_out = ${cout}; using ${g}.`;
      } else {
        sliderHint.textContent = `valid: ${list.join(", ")} (g = C_in = ${cin} is depthwise when C_out = C_in)`;
      }
      slider.max = String(list.length - 1);
      slider.value = String(list.indexOf(g));
      slider.setAttribute("aria-valuetext", `${g} groups`);
      sliderValue.textContent = String(g);
      drawTensor(cin, cout, g);
      tensorCaption.textContent = `weight (C_out, C_in/groups, k, k) = (${cout}, ${cin / g}, ${k}, ${k}) · ${g} group${g > 1 ? "s" : ""} of ${cout / g} filters × ${cin / g} channels`;
      const body = { c_in: cin, c_out: cout, kernel: k, height: s["family.g.hw"], width: s["family.g.hw"], stride: 1, padding: Math.floor(k / 2) };
      const answer = await postForView({ state, pictures: cols.pictures }, s, "/api/groups/cost", body, "family-groups");
      if (!answer) return;
      const option = answer.options.find((o) => o.groups === g) || answer.options[0];
      const [, oh, ow] = answer.output_shape;
      params.replaceChildren(
        el("div", {}, "params = C_out·(C_in/groups·k·k + 1)"),
        el("div", {}, `= ${cout}·(${cin}/${g}·${k}·${k} + 1) = `, el("span", { class: "big" }, nf.format(option.params))),
      );
      macs.replaceChildren(
        el("div", {}, "MACs = H_out·W_out·C_out·(C_in/groups)·k·k"),
        el("div", {}, `= ${oh}·${ow}·${cout}·(${cin}/${g})·${k}·${k} = `, el("span", { class: "big" }, nf.format(option.macs))),
      );
      const max = answer.options[0].params;
      const rows = answer.options.map((o) => el("tr", { class: o.groups === g ? "fam-current" : null },
        el("td", {}, String(o.groups)),
        el("td", {}, nf.format(o.params)),
        el("td", { class: "fam-bar-cell" }, bar((100 * o.params) / max)),
        el("td", {}, nf.format(o.macs))));
      bars.replaceChildren(el("table", { class: "numbers fam-bars" },
        el("thead", {}, el("tr", {}, el("th", {}, "groups"), el("th", {}, "params"), el("th", {}, ""), el("th", {}, "MACs"))),
        el("tbody", {}, ...rows)));
      const d = answer.depthwise_separable;
      const st = answer.standard;
      sep.replaceChildren(el("table", { class: "numbers" },
        el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "params"), el("th", {}, "MACs"))),
        el("tbody", {},
          el("tr", {}, el("td", {}, `standard ${k}×${k}, ${cin}→${cout}`), el("td", {}, nf.format(st.params)), el("td", {}, nf.format(st.macs))),
          el("tr", {}, el("td", {}, `depthwise ${k}×${k} (groups = ${cin})`), el("td", {}, nf.format(d.depthwise_params)), el("td", {}, nf.format(d.depthwise_macs))),
          el("tr", {}, el("td", {}, `pointwise 1×1, ${cin}→${cout}`), el("td", {}, nf.format(d.pointwise_params)), el("td", {}, nf.format(d.pointwise_macs))),
          el("tr", { class: "fam-total" }, el("td", {}, "separable total"), el("td", {}, nf.format(d.params)), el("td", {}, nf.format(d.macs))),
        )),
        el("p", { class: "big", "data-testid": "groups-separable-ratio" }, `standard / separable: ${d.params_ratio.toFixed(2)}× params, ${d.macs_ratio.toFixed(2)}× MACs`));
    },
  };
}
