// A clicked unit's two receptive fields, side by side on the input:
// - theoretical: the box of input pixels the unit can see (from the summary's size,
//   jump and start), with the part outside the image (padding) hatched;
// - effective: |∂unit/∂input| summed over channels (POST /api/network/erf), as a
//   heat map with the same box, the pixels holding 95 % of the mass outlined (dashed),
//   and the share of the box they make up.
// A field much smaller than the input is shown zoomed (with a note saying where), so a
// 3×3 field on a 224×224 image is not a speck.

import { MAPS } from "../../colormap.js";
import { drawColorbar, fmt, sizeCanvas } from "../../heatmap.js";
import { hideTooltip, showTooltip } from "../../ui.js";

const MIN_SIDE = 110; // CSS pixels of the longer side of each view, at least
const SMALL = 0.25; // a field below this share of the input's side is zoomed onto
class FieldView {
  constructor(container, testid) {
    this.wrap = container;
    this.base = container.querySelector("canvas.net-field-base");
    this.overlay = container.querySelector("canvas.net-field-overlay");
    this.base.dataset.testid = testid;
    this.frame = null;
    this.values = null;
  }

  /** Draw `pixel(i)` → [r, g, b] for each image pixel inside frame {top, left, bottom, right}. */
  draw(h, w, frame, pixel, side) {
    this.frame = frame;
    this.h = h;
    this.w = w;
    const fw = frame.right - frame.left;
    const fh = frame.bottom - frame.top;
    this.base.width = fw;
    this.base.height = fh;
    const ctx = this.base.getContext("2d");
    const img = ctx.createImageData(fw, fh);
    for (let y = 0; y < fh; y++) {
      for (let x = 0; x < fw; x++) {
        const r = y + frame.top;
        const c = x + frame.left;
        const o = 4 * (y * fw + x);
        const rgb = r >= 0 && c >= 0 && r < h && c < w ? pixel(r * w + c) : [226, 228, 232];
        img.data[o] = rgb[0];
        img.data[o + 1] = rgb[1];
        img.data[o + 2] = rgb[2];
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    let scale = side / Math.max(fw, fh);
    if (scale >= 1) scale = Math.floor(scale);
    this.scale = scale;
    const cssW = fw * scale;
    const cssH = fh * scale;
    sizeCanvas(this.base, cssW, cssH, { sharp: false });
    sizeCanvas(this.overlay, cssW, cssH);
    const o = this.overlay.getContext("2d");
    o.setTransform((this.overlay.width / fw), 0, 0, this.overlay.height / fh, -frame.left * (this.overlay.width / fw), -frame.top * (this.overlay.height / fh));
    o.clearRect(frame.left, frame.top, fw, fh);
    return o;
  }

  /** Hatch the field's cells outside the image and outline the field. */
  box(o, field, { color = "#ff2d95" } = {}) {
    const px = 1 / this.scale; // one CSS pixel in input-pixel units
    const { top, left, height, width } = field;
    o.save();
    o.beginPath();
    o.rect(left, top, width, height);
    o.clip();
    // padding = field minus image
    o.beginPath();
    o.rect(left, top, width, height);
    o.rect(0, 0, this.w, this.h); // the image: a hole under the even-odd rule
    o.clip("evenodd");
    o.strokeStyle = "rgba(60, 60, 70, 0.55)";
    o.lineWidth = 1.2 * px;
    const gap = 6 * px;
    o.beginPath();
    for (let d = -height; d < width + height; d += gap) {
      o.moveTo(left + d, top);
      o.lineTo(left + d - height, top + height);
    }
    o.stroke();
    o.restore();
    o.strokeStyle = color;
    o.lineWidth = 2.5 * px;
    o.strokeRect(left, top, width, height);
    o.strokeStyle = "rgba(255,255,255,0.9)";
    o.lineWidth = 1 * px;
    o.strokeRect(left - 1.5 * px, top - 1.5 * px, width + 3 * px, height + 3 * px);
  }

  /** Dashed outline around the cells where `inside(i)` holds (i = r * w + c), within the frame. */
  outline(o, inside) {
    const px = 1 / this.scale;
    const { top, left, bottom, right } = this.frame;
    const h = this.h;
    const w = this.w;
    const at = (r, c) => r >= 0 && c >= 0 && r < h && c < w && inside(r * w + c);
    o.beginPath();
    for (let r = Math.max(0, top); r < Math.min(h, bottom); r++) {
      for (let c = Math.max(0, left); c < Math.min(w, right); c++) {
        if (!at(r, c)) continue;
        if (!at(r - 1, c)) { o.moveTo(c, r); o.lineTo(c + 1, r); }
        if (!at(r + 1, c)) { o.moveTo(c, r + 1); o.lineTo(c + 1, r + 1); }
        if (!at(r, c - 1)) { o.moveTo(c, r); o.lineTo(c, r + 1); }
        if (!at(r, c + 1)) { o.moveTo(c + 1, r); o.lineTo(c + 1, r + 1); }
      }
    }
    o.save();
    o.lineWidth = 2.5 * px;
    o.strokeStyle = "rgba(0, 0, 0, 0.85)";
    o.stroke();
    o.setLineDash([3 * px, 3 * px]);
    o.lineWidth = 1.5 * px;
    o.strokeStyle = "#ffffff";
    o.stroke();
    o.restore();
  }

  cellAt(event) {
    const rect = this.base.getBoundingClientRect();
    const fw = this.frame.right - this.frame.left;
    const fh = this.frame.bottom - this.frame.top;
    const c = Math.floor(((event.clientX - rect.left) / rect.width) * fw) + this.frame.left;
    const r = Math.floor(((event.clientY - rect.top) / rect.height) * fh) + this.frame.top;
    return { r, c };
  }
}

export function mountFields(root) {
  const panel = root.querySelector(".net-fields");
  const theory = new FieldView(panel.querySelector("[data-view='theory']"), "net-rf-theory");
  const effective = new FieldView(panel.querySelector("[data-view='effective']"), "net-rf-effective");
  const caption = panel.querySelector("[data-testid='net-unit-caption']");
  const fraction = panel.querySelector("[data-testid='net-erf-fraction']");
  const colorbar = panel.querySelector(".net-erf-colorbar canvas");
  const colorbarText = panel.querySelector(".net-erf-colorbar .range");
  const views = panel.querySelector(".net-field-views");
  const empty = panel.querySelector(".net-fields-empty");
  const zoomNote = panel.querySelector("[data-testid='net-zoom-note']");
  let zoom = true;
  let current = null; // {input, field, erf, frame}

  for (const [view, name] of [[theory, "theory"], [effective, "effective"]]) {
    view.base.addEventListener("mousemove", (e) => {
      if (!current || !view.frame) return;
      const { r, c } = view.cellAt(e);
      const [C, H, W] = current.input.shape;
      const inImage = r >= 0 && c >= 0 && r < H && c < W;
      const f = current.field;
      const inField = r >= f.top && c >= f.left && r < f.top + f.height && c < f.left + f.width;
      const lines = [`input (${r}, ${c})${inImage ? "" : " — padding, outside the image"}`, inField ? "inside the theoretical field" : "outside the field"];
      if (inImage && name === "effective" && current.erf) lines.push(`|∂unit/∂x| = ${fmt(current.erf[r * W + c])}`);
      if (inImage && name === "theory") lines.push(`pixel ${fmt(current.input[r * W + c])}${C > 1 ? " (channel 0)" : ""}`);
      showTooltip(e, lines);
    });
    view.base.addEventListener("mouseleave", hideTooltip);
  }

  /** The part of the (padded) input both views draw: all of it, or a zoom around a small field. */
  function frameFor(h, w, f) {
    const whole = { top: Math.min(0, f.top), left: Math.min(0, f.left), bottom: Math.max(h, f.top + f.height), right: Math.max(w, f.left + f.width) };
    const small = f.height < SMALL * (whole.bottom - whole.top) && f.width < SMALL * (whole.right - whole.left);
    if (!zoom || !small) return { ...whole, zoomed: false };
    const m = Math.max(2, Math.ceil(Math.max(f.height, f.width) / 2));
    return {
      top: Math.max(whole.top, f.top - m),
      left: Math.max(whole.left, f.left - m),
      bottom: Math.min(whole.bottom, f.top + f.height + m),
      right: Math.min(whole.right, f.left + f.width + m),
      zoomed: true,
    };
  }

  /** CSS pixels for each view's longer side: two views share the panel's width. */
  function viewSide() {
    const width = views.clientWidth || panel.clientWidth - 24;
    return Math.max(MIN_SIDE, Math.floor((width - 10) / 2) - 2);
  }

  /** Show the theoretical field at once (the effective one follows from the server). */
  function showTheory(input, field, text) {
    const [C, H, W] = input.shape;
    views.hidden = false;
    empty.hidden = true;
    const frame = frameFor(H, W, field);
    const plane = H * W;
    const gray = (v) => Math.round(Math.max(0, Math.min(1, v)) * 255);
    const o = theory.draw(H, W, frame, (i) => (C === 3 ? [gray(input[i]), gray(input[plane + i]), gray(input[2 * plane + i])] : [gray(input[i]), gray(input[i]), gray(input[i])]), viewSide());
    theory.box(o, field);
    current = { input, field, erf: null, frame };
    caption.textContent = text;
    zoomNote.hidden = !frame.zoomed;
    zoomNote.textContent = frame.zoomed
      ? `Zoomed onto rows ${frame.top}…${frame.bottom - 1}, columns ${frame.left}…${frame.right - 1} of the ${H}×${W} input (the field is small).`
      : "";
    panel.classList.remove("stale");
    effective.wrap.classList.add("stale");
  }

  function showEffective(answer) {
    const erf = answer.arrays.erf;
    const [H, W] = erf.shape;
    const field = current.field;
    const frame = current.frame;
    let hi = 0;
    for (let i = 0; i < erf.length; i++) if (erf[i] > hi) hi = erf[i];
    const table = MAPS.viridis.table;
    const o = effective.draw(H, W, frame, (i) => {
      const t = hi > 0 ? Math.round((erf[i] / hi) * 255) : 0;
      return [table[3 * t], table[3 * t + 1], table[3 * t + 2]];
    }, viewSide());
    effective.box(o, field, { color: "#ff2d95" });
    const threshold = answer.threshold;
    if (threshold > 0 && answer.total > 0) effective.outline(o, (i) => erf[i] >= threshold);
    current.erf = erf;
    effective.wrap.classList.remove("stale");
    drawColorbar(colorbar, MAPS.viridis, 0, hi || 1, { width: 140, height: 10 });
    colorbar.parentElement.hidden = false;
    colorbarText.textContent = `0 … ${fmt(hi)}`;
    if (!(answer.total > 0)) {
      fraction.textContent =
        "The gradient is zero everywhere: this unit sits behind a ReLU that is off (its input is ≤ 0), so nothing flows back. " +
        "Pick another unit, or let the gradient through the ReLUs (gates: linear).";
      return;
    }
    const pct = (v) => `${(100 * v).toFixed(v < 0.1 ? 1 : 0)} %`;
    fraction.textContent =
      `${pct(answer.share)} of the gradient mass lies in ${answer.pixels.toLocaleString("en-US")} pixels = ` +
      `${pct(answer.fraction)} of the theoretical field's ${answer.area.toLocaleString("en-US")} pixels inside the image. ` +
      `Mass inside the field: ${pct(answer.inside)}. Unit value ${fmt(answer.value)}.`;
  }

  function clear(message) {
    current = null;
    zoomNote.hidden = true;
    views.hidden = true;
    colorbar.parentElement.hidden = true;
    empty.hidden = false;
    empty.textContent = message;
    caption.textContent = "";
    fraction.textContent = "";
  }

  return {
    showTheory,
    showEffective,
    clear,
    stale: () => panel.classList.add("stale"),
    setZoom(on) {
      zoom = on;
    },
  };
}
