// The frequency domain: the convolution theorem on the current image (one channel).
// The image's spectrum times the kernel's frequency response is the spectrum of the
// circular convolution; its inverse is set beside conv2d with circular padding and
// the max difference printed. Then what a blur and an edge kernel keep and remove,
// aliasing (stride 2 on fine stripes, with and without a blur first) and the cost
// crossover of direct against FFT.
//
// Server: POST /api/family/fft and /api/family/aliasing (app/labs/family/fft.py).
// Every number shown comes from those answers.

import { postJSON } from "../../api.js";
import { MAPS } from "../../colormap.js";
import { fmt } from "../../heatmap.js";
import { presetKernel } from "../../presets.js";
import { clearError, el, reportError } from "../../ui.js";
import { panel } from "./controls.js";
import { FIELDS as KERNEL_FIELDS, KEYS as KERNEL_KEYS, kernelControls, kernelRows, mapFigure, maxOf, num, presetName } from "./kernel-choice.js";

export const FIELDS = [
  ...KERNEL_FIELDS,
  { name: "family.fft.period", def: 2.5 },
  { name: "family.fft.stride", def: 2 },
  { name: "family.fft.blur", def: 5 },
];

const KEYS = ["image", "family.view", ...KERNEL_KEYS, "family.fft.period", "family.fft.stride", "family.fft.blur"];
const ALIAS_ONLY = ["family.fft.period", "family.fft.stride", "family.fft.blur"];
const ALIAS_KEYS = ["family.view", "present", ...ALIAS_ONLY];

/** The kernels compared side by side in frequency: a blur, an edge detector, a second-derivative one. */
const COMPARED = [
  { name: "Gaussian blur 5×5", id: "gaussian", k: 5 },
  { name: "Sobel x 3×3", id: "sobel-x", k: 3 },
  { name: "Laplacian 3×3", id: "laplacian", k: 3 },
];

const rows = (flat, k) => Array.from({ length: k }, (_, a) => Array.from(flat.subarray(a * k, (a + 1) * k)));
const presetRows = (id, k) => rows(presetKernel(id, k, k), k);

/** "passes" / "weakens" / "removes" for each band, by its mean gain against the kernel's strongest band. */
export function bandWords(bands) {
  const top = Math.max(...bands.bands.map((b) => b.gain)) || 1;
  return bands.bands.map((b) => ({ ...b, word: b.gain >= 0.5 * top ? "passes" : b.gain >= 0.1 * top ? "weakens" : "removes" }));
}

const BAND_TEXT = { low: "low (0 < |f| ≤ 1/8)", middle: "middle (1/8 … 3/8)", high: "high (|f| ≥ 3/8)" };

function floatInput(state, field, label, { min, max, step, testid }) {
  const id = `fam-${field.replace(/\W/g, "-")}`;
  const input = el("input", { type: "number", id, min, max, step, "data-testid": testid });
  input.addEventListener("change", () => {
    const v = Number(input.value);
    const ok = input.value !== "" && Number.isFinite(v) && v >= min && v <= max;
    input.classList.toggle("invalid", !ok);
    input.toggleAttribute("aria-invalid", !ok);
    if (ok) state.set({ [field]: Math.round(v * 100) / 100 });
  });
  return {
    row: el("div", { class: "row" }, el("label", { for: id }, label), input),
    render(s) {
      if (document.activeElement !== input) input.value = String(s[field]);
    },
  };
}

function intSelect(state, field, label, values, testid, text = (v) => String(v)) {
  const id = `fam-${field.replace(/\W/g, "-")}`;
  const select = el("select", { id, "data-testid": testid }, ...values.map((v) => el("option", { value: v }, text(v))));
  select.addEventListener("change", () => state.set({ [field]: Number(select.value) }));
  return {
    row: el("div", { class: "row" }, el("label", { for: id }, label), select),
    render(s) {
      select.value = String(s[field]);
    },
  };
}

export function mount(cols, ctx) {
  const { state } = ctx;

  // --- controls ---------------------------------------------------------------------
  const controls = panel(cols.controls, "One channel, one kernel");
  const kernel = kernelControls(state, "fft");
  controls.append(...kernel.rows, el("p", { class: "hint" }, "The image is used in gray (one channel). The kernel is shared with the Separable and im2col views."));
  const aliasControls = panel(cols.controls, "Aliasing demo");
  const period = floatInput(state, "family.fft.period", "Stripe period (px)", { min: 2, max: 32, step: 0.1, testid: "fft-period" });
  const stride = intSelect(state, "family.fft.stride", "Stride", [2, 3, 4], "fft-stride");
  const blur = intSelect(state, "family.fft.blur", "Blur first", [3, 5, 7], "fft-blur", (v) => `Gaussian ${v}×${v}`);
  aliasControls.append(period.row, stride.row, blur.row);

  // --- pictures: the theorem ------------------------------------------------------------
  const theorem = panel(cols.pictures, "The convolution theorem on your image", { "data-testid": "fft-theorem" });
  const top = el("div", { class: "fam-row fam-equation" });
  theorem.append(top);
  const fSpectrum = mapFigure(top, "Image spectrum log(1 + |X|), centred", { testid: "fft-spectrum", box: 136, name: "log(1+|X|)" });
  top.append(el("span", { class: "fam-op", "aria-hidden": "true" }, "×"));
  const fResponse = mapFigure(top, "Kernel response |K|, zero-padded to the image", { testid: "fft-response", box: 136, name: "|K|" });
  top.append(el("span", { class: "fam-op", "aria-hidden": "true" }, "="));
  const fProduct = mapFigure(top, "Product log(1 + |X·K̄|)", { testid: "fft-product", box: 136, name: "log(1+|X·K̄|)" });
  const bottom = el("div", { class: "fam-row fam-equation" });
  theorem.append(bottom);
  const fInverse = mapFigure(bottom, "Inverse FFT of the product", { testid: "fft-inverse", box: 200, name: "ifft2(X·K̄)" });
  bottom.append(el("span", { class: "fam-op", "aria-hidden": "true" }, "≟"));
  const fDirect = mapFigure(bottom, "Direct conv2d, padding_mode circular, same size", { testid: "fft-direct", box: 200, name: "conv2d" });
  const check = el("p", { class: "big", "data-testid": "fft-check", "aria-live": "polite" });
  const flip = el("p", { "data-testid": "fft-flip" });
  const circular = el("p", { "data-testid": "fft-circular" });
  theorem.append(check, flip, circular);

  // --- pictures: blur vs edge ---------------------------------------------------------------
  const comparePanel = panel(cols.pictures, "Blur vs edge: what each keeps and removes", { "data-testid": "fft-compare" });
  const compareRow = el("div", { class: "fam-row" });
  comparePanel.append(compareRow, el("p", { class: "hint" }, "Each response is centred: frequency 0 (flat areas, the mean brightness) in the middle, the finest patterns at the edges and corners. Words, not colours, say what each band does: the mean gain |K| over the band against the kernel's strongest band (≥ ½ passes, ≥ 1/10 weakens, else removes)."));
  const cards = COMPARED.map((c, i) => {
    const card = el("div", { class: "fam-card", "data-testid": `fft-compare-${i}` });
    compareRow.append(card);
    const fig = mapFigure(card, `${c.name}: |K|`, { testid: `fft-compare-map-${i}`, box: 128, name: "|K|" });
    const text = el("div", { class: "fam-bands" });
    card.append(text);
    return { fig, text };
  });

  // --- pictures: aliasing ---------------------------------------------------------------------
  const aliasPanel = panel(cols.pictures, "Aliasing: a stride on fine stripes", { "data-testid": "fft-aliasing" });
  const aliasRow = el("div", { class: "fam-row" });
  aliasPanel.append(aliasRow);
  const fStripes = mapFigure(aliasRow, "Fine stripes (input)", { testid: "fft-alias-input", box: 128, name: "x" });
  const fStrided = mapFigure(aliasRow, "Stride only", { testid: "fft-alias-strided", box: 128, name: "y" });
  const fBlurred = mapFigure(aliasRow, "Blur, then stride", { testid: "fft-alias-blurred", box: 128, name: "y" });
  const aliasText = el("div", { class: "fam-alias-text", "data-testid": "fft-alias-result", "aria-live": "polite" });
  aliasPanel.append(aliasText);

  // --- explain ------------------------------------------------------------------------------------
  const yourKernel = panel(cols.explain, "Your kernel in frequency");
  const bandsText = el("div", { "data-testid": "fft-bands" });
  yourKernel.append(bandsText);
  const costPanel = panel(cols.explain, "Direct or FFT? Cost with your numbers");
  const cost = el("div", { class: "formula", "data-testid": "fft-cost" });
  const costTable = el("div", { "data-testid": "fft-cost-table" });
  costPanel.append(cost, costTable);

  // --- drawing ---------------------------------------------------------------------------------
  function drawTheorem(answer, s) {
    const { arrays } = answer;
    const [h, w] = answer.shape;
    const [kh, kw] = answer.kernel_shape;
    const specRange = [0, Math.max(maxOf(arrays.spectrum), maxOf(arrays.product))];
    fSpectrum.draw(arrays.spectrum, h, w, { map: MAPS.viridis, fixed: specRange });
    fResponse.draw(arrays.response, h, w, { map: MAPS.viridis, fixed: [0, Math.max(1e-12, maxOf(arrays.response))] });
    fProduct.draw(arrays.product, h, w, { map: MAPS.viridis, fixed: specRange, label: "same scale as the spectrum" });
    const range = fDirect.draw(arrays.direct, h, w);
    fInverse.draw(arrays.via_fft, h, w, { map: range[0] < 0 ? MAPS.diverging : MAPS.viridis, fixed: range });
    check.textContent = `max |ifft2(X·K̄) − conv2d| = ${fmt(answer.max_abs_diff, 2)} — float round-off (values reach ${fmt(answer.scale, 3)})`;
    const name = presetName(s["family.v.kernel"]);
    flip.textContent = answer.max_abs_diff_unflipped > 1e-9 * Math.max(1, answer.scale)
      ? `Mind the flip: the theorem multiplies by K for a true convolution; a CNN's layer (eq. 36.2) is a cross-correlation — the kernel flipped — so its spectrum is X·K̄ (a real kernel flipped = its transform conjugated). ifft2(X·K) is off by up to ${fmt(answer.max_abs_diff_unflipped, 3)} for ${name}.`
      : `Mind the flip: a CNN's layer is a cross-correlation, the kernel flipped, so its spectrum is X·K̄, not X·K. For ${name} (${kh}×${kw}) the flip changes nothing: ifft2(X·K) is off by only ${fmt(answer.max_abs_diff_unflipped, 2)}.`;
    const [bh, bw] = answer.zero_pad;
    circular.textContent = `Why circular: the DFT treats the image as one tile of an endlessly repeating plane, so a window hanging over one edge reads the opposite edge. Zero padding instead: pad the image with ${bh} row${bh === 1 ? "" : "s"} and ${bw} column${bw === 1 ? "" : "s"} of zeros (kh − 1, kw − 1) before the FFT — that matches conv2d with zeros to ${fmt(answer.max_abs_diff_zeros, 2)}. The two differ by up to ${fmt(answer.border_effect, 3)}, and only within ${answer.border_width} pixel${answer.border_width === 1 ? "" : "s"} of the border.`;

    answer.compare.forEach((c, i) => {
      const card = cards[i];
      if (!card) return;
      card.fig.draw(arrays[`response_${i}`], h, w, { map: MAPS.viridis, fixed: [0, Math.max(1e-12, maxOf(arrays[`response_${i}`]))] });
      card.text.replaceChildren(bandList(c.bands, `fft-compare-bands-${i}`));
    });
    bandsText.replaceChildren(
      el("p", {}, `${name}, ${kh}×${kw}:`),
      bandList(answer.bands, "fft-bands-list"),
    );

    const c = answer.cost;
    cost.replaceChildren(
      el("div", {}, `image H×W = ${h}×${w} = ${num(c.pixels)} pixels, kernel ${kh}×${kw}`),
      el("div", {}, `direct: kh·kw·H·W = ${kh}·${kw}·${num(c.pixels)} = `, el("span", { class: "big" }, num(c.direct)), " multiply-adds (eq. 36.11, one channel)"),
      el("div", {}, `FFT: H·W·log₂(H·W) = ${num(c.pixels)}·${fmt(c.log2_pixels, 3)} = `, el("span", { class: "big" }, num(Math.round(c.fft))), " (constant factors left out: three transforms, complex arithmetic)"),
      el("div", {}, `crossover: k² = log₂(H·W) ⇒ k ≈ √${fmt(c.log2_pixels, 3)} = ${fmt(c.crossover_k, 3)}; here the ${c.cheaper === "fft" ? "FFT" : "direct"} count is smaller.`),
    );
    const fftCount = Math.round(c.fft);
    costTable.replaceChildren(el("table", { class: "numbers" },
      el("thead", {}, el("tr", {}, el("th", {}, "k×k"), el("th", {}, "direct"), el("th", {}, "FFT"), el("th", {}, "smaller"))),
      el("tbody", {}, ...c.table.map((r) => el("tr", { class: r.k === kh && kh === kw ? "fam-current" : null },
        el("td", {}, `${r.k}×${r.k}`), el("td", {}, num(r.direct)), el("td", {}, num(fftCount)),
        el("td", {}, r.direct <= fftCount ? "direct" : "FFT"))))));
  }

  function bandList(bands, testid) {
    const words = bandWords(bands);
    const dc = bands.dc_gain;
    return el("ul", { class: "fam-band-list", "data-testid": testid },
      el("li", {}, Math.abs(dc) < 1e-9
        ? "frequency 0 (flat areas): removed — its weights sum to 0"
        : `frequency 0 (flat areas): × ${fmt(dc, 3)} — the sum of its weights`),
      ...words.map((b) => el("li", {}, `${BAND_TEXT[b.name]}: ${b.word}, gain ${fmt(b.gain, 2)}`,
        b.energy_ratio === null ? "" : `, image energy × ${fmt(b.energy_ratio, 2)}`)));
  }

  function drawAliasing(a) {
    const { arrays } = a;
    const grayRange = { map: MAPS.gray, fixed: [0, 1] };
    fStripes.draw(arrays.input, a.size, a.size, grayRange);
    const n = arrays.strided.shape;
    fStrided.draw(arrays.strided, n[0], n[1], grayRange);
    fBlurred.draw(arrays.blurred_strided, n[0], n[1], grayRange);
    const m = a.measured;
    const folded = a.aliases
      ? `${fmt(a.frequency, 3)} is above that, so it folds to ${fmt(a.alias_frequency, 3)} cycles/px: fake stripes ${a.alias_period ? `of period ${fmt(a.alias_period, 3)} px` : "that do not move at all (a flat grey)"}.`
      : `${fmt(a.frequency, 3)} is below that, so the stripes survive the stride as they are.`;
    aliasText.replaceChildren(
      el("p", {}, `Stripes of period ${fmt(a.period, 3)} px: ${fmt(a.frequency, 3)} cycles per pixel. Keeping 1 sample in ${a.stride} can hold at most 1/(2·${a.stride}) = ${fmt(a.nyquist, 3)} cycles per input pixel (Nyquist). ${folded}`),
      el("p", { "data-testid": "fft-alias-measured" },
        `Measured on the server: stride only → dominant period ${m.strided.period ? fmt(m.strided.period, 3) : "∞"} px, amplitude ${fmt(m.strided.amplitude, 2)}; `,
        `Gaussian ${s0("family.fft.blur")}×${s0("family.fft.blur")} first (gain ${fmt(a.blur_gain, 2)} at ${fmt(a.frequency, 3)} cycles/px) → amplitude ${fmt(m.blurred_strided.amplitude, 2)} (input ${fmt(m.input.amplitude, 2)}).`),
      el("p", { class: "hint" }, "A blur before the stride is what anti-aliased downsampling does; it costs detail below Nyquist too."),
    );
  }
  const s0 = (field) => state.get()[field];

  // --- requests ---------------------------------------------------------------------------------
  async function refreshTheorem(s) {
    const k = kernel.size(s);
    const body = {
      kernel: kernelRows(s, k),
      compare: COMPARED.map((c) => ({ name: c.name, kernel: presetRows(c.id, c.k) })),
    };
    let answer;
    try {
      answer = await ctx.image.withImage(s.image, (id) =>
        postJSON("/api/family/fft", { ...body, image_id: id }, { binary: true, key: "family-fft" }));
    } catch (err) {
      if (reportError(err)) theorem.classList.add("stale");
      return false;
    }
    if (state.get() !== s) return true;
    theorem.classList.remove("stale");
    drawTheorem(answer, s);
    return true;
  }

  async function refreshAliasing(s) {
    const b = s["family.fft.blur"];
    let answer;
    try {
      answer = await postJSON("/api/family/aliasing", {
        period: s["family.fft.period"], stride: s["family.fft.stride"], blur: presetRows("gaussian", b),
      }, { binary: true, key: "family-aliasing" });
    } catch (err) {
      if (reportError(err)) aliasPanel.classList.add("stale");
      return false;
    }
    if (state.get() !== s) return true;
    aliasPanel.classList.remove("stale");
    drawAliasing(answer);
    return true;
  }

  return {
    async render(s, changed) {
      if (!changed.some((k) => KEYS.includes(k))) return;
      kernel.render(s);
      period.render(s);
      stride.render(s);
      blur.render(s);
      const jobs = [];
      if (changed.some((k) => KEYS.includes(k) && !ALIAS_ONLY.includes(k))) jobs.push(refreshTheorem(s));
      if (changed.some((k) => ALIAS_KEYS.includes(k))) jobs.push(refreshAliasing(s));
      const ok = await Promise.all(jobs);
      if (ok.every(Boolean) && state.get() === s) clearError();
    },
  };
}
