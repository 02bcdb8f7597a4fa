// Separable and low-rank kernels: the SVD of the shared kernel. Singular values as
// bars, the rank, the two 1-D kernels of a rank-1 kernel (column ⊗ row), a rank-r
// slider with the approximation and its error, the maps of the full and the rank-r
// kernel on the current image, and the multiply-add saving kh·kw → r·(kh + kw).
//
// Server: POST /api/family/separable (app/labs/family/separable.py). Every number
// shown comes from its answer.

import { postJSON } from "../../api.js";
import { fmt } from "../../heatmap.js";
import { clearError, el, reportError } from "../../ui.js";
import { panel } from "./controls.js";
import { NumberGrid, figure } from "./grid.js";
import { KEYS as KERNEL_KEYS, kernelControls, kernelRows, mapFigure, num, presentScale, presetName } from "./kernel-choice.js";

export const FIELDS = [{ name: "family.sep.rank", def: 1 }];

const KEYS = ["image", "family.view", ...KERNEL_KEYS, "family.sep.rank"];

function bar(percent) {
  const span = el("span", { class: "fam-bar" });
  span.style.width = `${Math.max(0, Math.min(100, percent))}%`; // CSSOM: allowed by the page's style-src CSP
  return span;
}

export function mount(cols, ctx) {
  const { state } = ctx;

  const controls = panel(cols.controls, "The kernel as a matrix");
  const kernel = kernelControls(state, "sep");
  const slider = el("input", { type: "range", min: 1, max: 3, step: 1, id: "fam-sep-rank", "data-testid": "sep-rank" });
  const sliderValue = el("output", { for: "fam-sep-rank", class: "big", "data-testid": "sep-rank-value" });
  slider.addEventListener("input", () => state.set({ "family.sep.rank": Number(slider.value) }));
  controls.append(...kernel.rows, el("div", { class: "row" }, el("label", { for: "fam-sep-rank" }, "Keep rank r"), slider, sliderValue),
    el("p", { class: "hint" }, "The image is used in gray (one channel); the kernel is shared with the Frequency and im2col views."));

  // --- pictures ---------------------------------------------------------------------------------
  const svdPanel = panel(cols.pictures, "Singular values of the kernel", { "data-testid": "sep-svd" });
  const rankText = el("p", { class: "big", "data-testid": "sep-rank-text", "aria-live": "polite" });
  const bars = el("div", { "data-testid": "sep-singular-values" });
  svdPanel.append(rankText, bars);

  const factorPanel = panel(cols.pictures, "Rank 1: a column times a row", { "data-testid": "sep-factors" });
  const factorRow = el("div", { class: "fam-row fam-equation" });
  const factorNote = el("p", { "data-testid": "sep-factors-text" });
  factorPanel.append(factorRow, factorNote);
  const fCol = figure(factorRow, "column (kh × 1)");
  const gCol = new NumberGrid(fCol.body, { testid: "sep-column", label: "column factor", maxCell: 34, maxW: 60, maxH: 260, name: "c" });
  factorRow.append(el("span", { class: "fam-op", "aria-hidden": "true" }, "⊗"));
  const fRow = figure(factorRow, "row (1 × kw)");
  const gRow = new NumberGrid(fRow.body, { testid: "sep-row", label: "row factor", maxCell: 34, maxW: 260, maxH: 60, name: "r" });
  factorRow.append(el("span", { class: "fam-op", "aria-hidden": "true" }, "="));
  const fKernel = figure(factorRow, "the kernel K");
  const gKernel = new NumberGrid(fKernel.body, { testid: "sep-kernel-grid", label: "kernel", maxCell: 34, maxW: 260, maxH: 260, name: "K" });

  const approxPanel = panel(cols.pictures, "Rank-r approximation", { "data-testid": "sep-approx-panel" });
  const approxRow = el("div", { class: "fam-row" });
  approxPanel.append(approxRow);
  const fApprox = figure(approxRow, "K_r = Σ_{i ≤ r} σᵢ uᵢ vᵢᵀ");
  const gApprox = new NumberGrid(fApprox.body, { testid: "sep-approx", label: "rank-r kernel", maxCell: 34, maxW: 260, maxH: 260, name: "K_r" });
  const fErr = figure(approxRow, "K − K_r (below 10⁻¹²·max|K| printed as 0)");
  const gErr = new NumberGrid(fErr.body, { testid: "sep-error-grid", label: "approximation error", maxCell: 34, maxW: 260, maxH: 260, name: "K − K_r" });
  const errText = el("div", { class: "formula", "data-testid": "sep-error" });
  approxPanel.append(errText);

  const mapsPanel = panel(cols.pictures, "On your image: the full kernel and the rank-r kernel", { "data-testid": "sep-maps" });
  const mapsRow = el("div", { class: "fam-row" });
  mapsPanel.append(mapsRow);
  const fFull = mapFigure(mapsRow, "Full kernel K", { testid: "sep-map-full", box: 240, name: "K * x" });
  const fLow = mapFigure(mapsRow, "Rank-r kernel K_r", { testid: "sep-map-rank", box: 240, name: "K_r * x" });
  const mapsText = el("div", { "data-testid": "sep-maps-diff", "aria-live": "polite" });
  mapsPanel.append(mapsText);

  // --- explain ------------------------------------------------------------------------------------
  const costPanel = panel(cols.explain, "What it saves, with your numbers");
  const cost = el("div", { class: "formula", "data-testid": "sep-cost" });
  const link = el("button", { type: "button", class: "fam-link", "data-testid": "sep-groups-link" }, "Depthwise-separable cost table →");
  link.addEventListener("click", () => state.set({ "family.view": "groups" }, { history: true }));
  costPanel.append(cost, el("p", { class: "hint" }, "Depthwise-separable convolution splits the other way — across channels (a k×k per channel, then a 1×1 mixing them), not across the kernel's rows and columns:"), link);

  function drawBars(d) {
    const top = d.singular_values[0] || 1;
    const r = state.get()["family.sep.rank"];
    bars.replaceChildren(el("table", { class: "numbers fam-bars" },
      el("thead", {}, el("tr", {}, el("th", {}, "i"), el("th", {}, "σᵢ"), el("th", {}, el("span", { class: "visually-hidden" }, "bar")), el("th", {}, "σᵢ/σ₁"), el("th", {}, "in K_r"))),
      el("tbody", {}, ...d.singular_values.map((sv, i) => el("tr", { class: i < r ? "fam-current" : null },
        el("td", {}, String(i + 1)),
        el("td", {}, fmt(sv, 4)),
        el("td", { class: "fam-bar-cell" }, bar((100 * sv) / top)),
        el("td", {}, fmt(sv / top, 2)),
        el("td", {}, i < r ? "kept" : "dropped"))))));
  }

  function draw(d, s) {
    const cell = Math.round(34 * presentScale());
    for (const g of [gCol, gRow, gKernel, gApprox, gErr]) {
      g.maxCell = cell;
      g.maxW = g.maxH = 260 * presentScale();
    }
    const [kh, kw] = [d.approx.length, d.approx[0].length];
    const K = kernelRows(s, kernel.size(s));
    const name = presetName(s["family.v.kernel"]);
    const r = s["family.sep.rank"];
    drawBars(d);
    const second = d.singular_values.length > 1 ? d.singular_values[1] / (d.singular_values[0] || 1) : 0;
    rankText.textContent = `rank ${d.rank}` + (d.exact_rank !== d.rank
      ? ` (σ below ${fmt(d.rtol, 1)}·σ₁ = ${fmt(d.tolerance, 2)} counts as 0: the preset's weights are rounded to 4 digits; at float precision the rank is ${d.exact_rank})`
      : d.rank === 1 ? " — separable" : ` — not separable: it needs ${d.rank} column ⊗ row terms`);
    gKernel.set(K.flat(), kh, kw, { digits: 3 });
    const factorTitle = factorPanel.querySelector(".panel-title");
    if (d.factors) {
      factorTitle.textContent = "Rank 1: a column times a row";
      gCol.set(d.factors.column, kh, 1, { digits: 3 });
      gRow.set(d.factors.row, 1, kw, { digits: 3 });
      factorNote.textContent = `${name} = [${d.factors.column.map((v) => fmt(v, 4)).join(", ")}]ᵀ ⊗ [${d.factors.row.map((v) => fmt(v, 4)).join(", ")}]` +
        ` — max |column ⊗ row − K| = ${fmt(d.factors.max_abs_diff, 2)}. Sliding the column, then the row, is the same convolution.`;
    } else {
      factorTitle.textContent = `Rank ${d.rank}: its best rank-1 part, a column times a row`;
      const t = d.terms[0];
      gCol.set(t.column, kh, 1, { digits: 3 });
      gRow.set(t.row, 1, kw, { digits: 3 });
      factorNote.textContent = `${name} has rank ${d.rank} (σ₂/σ₁ = ${fmt(second, 3)}): no single column ⊗ row gives it. Shown: √σ₁·u₁ and √σ₁·v₁, the best rank-1 part.`;
    }
    gApprox.set(d.approx.flat(), kh, kw, { digits: 3 });
    // Entries at float round-off (below 1e-12 of the largest weight) print as 0; the text gives the exact max.
    const tiny = 1e-12 * Math.max(...K.flat().map(Math.abs), 1e-300);
    gErr.set(d.residual.flat().map((v) => (Math.abs(v) < tiny ? 0 : v)), kh, kw, { digits: 2 });
    errText.replaceChildren(
      el("div", {}, `‖K − K_r‖_F = √(Σ_{i > ${r}} σᵢ²) = ${fmt(d.error_fro, 3)} (${fmt(100 * d.error_rel, 3)} % of ‖K‖_F)`),
      el("div", {}, `max |K − K_r| = ${fmt(d.error_max, 3)}; energy kept Σ_{i ≤ ${r}} σᵢ² / Σ σᵢ² = ${fmt(100 * d.energy_kept, 4)} %`),
    );
    const [h, w] = d.shape;
    const range = fFull.draw(d.arrays.full, h, w);
    fLow.draw(d.arrays.low_rank, h, w, { fixed: range, map: undefined });
    fLow.caption.textContent = `Rank-${r} kernel K_${r}`;
    mapsText.replaceChildren(
      el("p", { class: "big" }, `max |K * x − K_${r} * x| = ${fmt(d.maps_max_abs_diff, 3)} (values reach ${fmt(d.scale, 3)})`),
      el("p", {}, `K_${r} as ${r} column-then-row pass${r > 1 ? "es" : ""} of 1-D kernels vs the 2-D convolution with K_${r}: max |diff| = ${fmt(d.two_pass_max_abs_diff, 2)}`),
    );
    const c = d.cost;
    cost.replaceChildren(
      el("div", {}, `per output pixel: full kh·kw = ${kh}·${kw} = `, el("span", { class: "big" }, String(c.per_pixel_full))),
      el("div", {}, `r passes: r·(kh + kw) = ${r}·(${kh} + ${kw}) = `, el("span", { class: "big" }, String(c.per_pixel_separable))),
      el("div", {}, `on your ${h}×${w} image (eq. 36.11, one channel): ${num(c.full)} vs ${num(c.separable)} multiply-adds — ${fmt(c.ratio, 3)}× ${c.ratio >= 1 ? "fewer" : "more"}`),
      el("div", {}, c.break_even_rank >= 1
        ? `saves while r ≤ ${c.break_even_rank} (r·${c.per_pass_pair} < ${c.per_pixel_full})`
        : `no rank saves at this size: even r = 1 costs kh + kw = ${c.per_pass_pair} ≥ ${c.per_pixel_full}`),
    );
  }

  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      kernel.render(s);
      const k = kernel.size(s);
      const r = Math.max(1, Math.min(k, s["family.sep.rank"]));
      slider.max = String(k);
      slider.value = String(r);
      slider.setAttribute("aria-valuetext", `rank ${r} of at most ${k}`);
      sliderValue.textContent = String(r);
      if (r !== s["family.sep.rank"]) {
        state.set({ "family.sep.rank": r }); // a smaller kernel cannot keep the old rank
        return;
      }
      let answer;
      try {
        answer = await ctx.image.withImage(s.image, (id) => postJSON("/api/family/separable",
          { kernel: kernelRows(s, k), rank: r, image_id: id }, { binary: true, key: "family-separable" }));
      } catch (err) {
        if (reportError(err)) cols.pictures.classList.add("stale");
        return;
      }
      if (state.get() !== s) return;
      clearError();
      cols.pictures.classList.remove("stale");
      draw(answer, s);
    },
  };
}
