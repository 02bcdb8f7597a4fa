// The one kernel the three "views of one convolution" share (frequency domain,
// separable, im2col): a preset from presets.js at a chosen size, kept in the URL so
// switching views keeps the same convolution. Also a small picture helper for maps
// whose size comes from the server (an image spectrum may be 512×512).

import { MAPS, autoMap } from "../../colormap.js";
import { PRESETS, PRESET_IDS, presetKernel } from "../../presets.js";
import { drawMap, fmt } from "../../heatmap.js";
import { el, hideTooltip, showTooltip } from "../../ui.js";

export const FIELDS = [
  { name: "family.v.kernel", def: "sobel-x" },
  { name: "family.v.k", def: 3 },
];
export const KEYS = [...FIELDS.map((f) => f.name), "present"];
export const SEED = 7;

/** Pictures grow by half in presentation mode (large type for a projector). */
export const presentScale = () => (document.documentElement.classList.contains("present") ? 1.5 : 1);

/** The shared kernel preset as k rows of k numbers (k: the size the view uses). */
export function kernelRows(s, k = s["family.v.k"]) {
  const id = PRESET_IDS.has(s["family.v.kernel"]) ? s["family.v.kernel"] : FIELDS[0].def;
  const flat = presetKernel(id, k, k, SEED);
  return Array.from({ length: k }, (_, a) => Array.from(flat.subarray(a * k, (a + 1) * k)));
}

export const presetName = (id) => PRESETS.find((p) => p.id === id)?.name ?? id;

/** Preset and size selects bound to the shared fields; `sizes` limits the size menu. */
export function kernelControls(state, prefix, sizes = [1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 15]) {
  // Own ids per view: the three views each have these controls, bound to the same fields.
  const pid = `fam-${prefix}-kernel`;
  const preset = el("select", { id: pid, "data-testid": `${prefix}-kernel` }, ...PRESETS.map((p) => el("option", { value: p.id }, p.name)));
  preset.addEventListener("change", () => state.set({ "family.v.kernel": preset.value }));
  const id = `fam-${prefix}-kernel-size`;
  const select = el("select", { id, "data-testid": `${prefix}-kernel-size` }, ...sizes.map((k) => el("option", { value: k }, `${k}×${k}`)));
  select.addEventListener("change", () => state.set({ "family.v.k": Number(select.value) }));
  return {
    rows: [el("div", { class: "row" }, el("label", { for: pid }, "Kernel"), preset),
      el("div", { class: "row" }, el("label", { for: id }, "Size"), select)],
    /** The size this view uses (the shared one, or the largest it allows below it). */
    size(s) {
      const k = s["family.v.k"];
      return sizes.includes(k) ? k : sizes.filter((v) => v <= k).pop() ?? sizes[0];
    },
    render(s) {
      preset.value = PRESET_IDS.has(s["family.v.kernel"]) ? s["family.v.kernel"] : FIELDS[0].def;
      select.value = String(this.size(s));
    },
  };
}

/**
 * A captioned canvas drawing one server map through a colour map, scaled by CSS to at
 * most `box` pixels on its longer side (integer zoom for small maps, so cells stay
 * crisp squares). Hover reports the value under the pointer.
 */
export function mapFigure(parent, title, { testid = null, box: baseBox = 200, name = "value", note = "" } = {}) {
  const canvas = el("canvas", { class: "map-canvas fam-map", role: "img", "aria-label": title, "data-testid": testid });
  const caption = el("figcaption", {}, title);

  const range = el("div", { class: "fam-range hint" });
  const fig = el("figure", { class: "fam-figure" }, caption, canvas, range, note ? el("p", { class: "hint" }, note) : null);
  parent.append(fig);
  let data = null;
  let h = 0;
  let w = 0;
  canvas.addEventListener("mousemove", (e) => {
    if (!data) return;
    const rect = canvas.getBoundingClientRect();
    const col = Math.floor(((e.clientX - rect.left) / rect.width) * w);
    const row = Math.floor(((e.clientY - rect.top) / rect.height) * h);
    if (row < 0 || col < 0 || row >= h || col >= w) return hideTooltip();
    showTooltip(e, [`(${row}, ${col}): ${name} = ${fmt(data[row * w + col], 6)}`]);
  });
  canvas.addEventListener("mouseleave", hideTooltip);
  return {
    figure: fig,
    canvas,
    caption,
    /** Draw `values` (length hh·ww); returns the [lo, hi] range. */
    draw(values, hh, ww, { map = null, fixed = null, label = null } = {}) {
      data = values;
      h = hh;
      w = ww;
      const cmap = map || autoMap(values);
      const used = drawMap(canvas, values, hh, ww, { map: cmap, range: fixed });
      const box = baseBox * presentScale();
      caption.style.maxWidth = range.style.maxWidth = `${Math.max(box, 120)}px`; // CSSOM: allowed by the style-src CSP
      const zoom = Math.max(1, Math.floor(box / Math.max(hh, ww)));
      const scale = Math.min(zoom, box / Math.max(hh, ww));
      canvas.style.width = `${Math.round(ww * scale)}px`;
      canvas.style.height = `${Math.round(hh * scale)}px`;
      const mapName = cmap === MAPS.diverging ? "blue − · white 0 · orange +" : cmap === MAPS.gray ? "black → white" : "dark → yellow";
      range.textContent = `${label ? `${label}: ` : ""}${fmt(used[0], 3)} … ${fmt(used[1], 3)} (${mapName})`;
      canvas.setAttribute("aria-label", `${title}: ${hh}×${ww}, values ${fmt(used[0], 3)} to ${fmt(used[1], 3)}`);
      return used;
    },
  };
}

/** Max over a typed array (for shared colour ranges). */
export function maxOf(values) {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > m) m = values[i];
  return m;
}

/** Numbers for prose: grouped integers, 3 significant digits otherwise. */
const grouped = new Intl.NumberFormat("en-US");
export const num = (v) => (Number.isInteger(v) ? grouped.format(v) : fmt(v, 3));
