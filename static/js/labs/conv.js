// The Convolution lab: input, kernels and knobs on the left; the padded input
// with the receptive field and the feature maps in the centre; output size,
// multiply-add and cost on the right.
//
// Geometry (sizes, boxes, formulas) is computed here with shape.js and drawn at
// once; the feature maps come from POST /api/conv2d (binary arrays, one request
// key so a slider drag never paints stale maps) and replace the previous ones.
// Big outputs are asked for as colour-table indices (`display`: 1 byte a value,
// drawn straight through the colour table); their exact float32 values follow in
// a second request a moment later, or at once when a hover or click needs them.

import { cancel, postJSON } from "../api.js";
import { fmt } from "../heatmap.js";
import { PRESETS } from "../presets.js";
import { paddingSides } from "../shape.js";
import { clearError, coalesce, hideTooltip, reportError, showError, showTooltip } from "../ui.js";
import { mountCellPicker } from "../widgets/cell-picker.js";
import { mountAnimation } from "./conv/animate.js";
import { mountControls } from "./conv/controls.js";
import { multiplyAdd, renderExplain } from "./conv/explain.js";
import { exportKernelsPng } from "./conv/export.js";
import { mountInputView } from "./conv/input-view.js";
import { mountMaps } from "./conv/maps.js";
import {
  FIELDS as MODEL_FIELDS, currentPixels, defaultPixels, encodePixels, geometry, kernelSize, padding, requestBody,
  resizePixels, weights,
} from "./conv/model.js";
import { renderCost, renderOutputSize } from "./conv/panels.js";

export const FIELDS = MODEL_FIELDS;
const PRESET_NAME = Object.fromEntries(PRESETS.map((p) => [p.id, p.name.replace(/ \(.*\)$/, "")]));
// Outputs with more values than this come as colour indices first (small ones, whose cells
// may print numbers, come exact in one go: 64 K values are 256 KB).
const DISPLAY_FROM = 65536;
// How long after drawing index maps the exact values are fetched unasked: longer than the
// pause between two knob changes of a drag, so a drag costs the server one request a change.
const EXACT_AFTER_MS = 400;
// How long a knob change's new maps may take before the old ones are dimmed as stale.
const DIM_AFTER_MS = 250;
// How long the padded input and the size and cost panels may wait for the maps, to be drawn with them.
const GEOMETRY_WAIT_MS = 90;

export function mount(root, ctx) {
  const { state, image } = ctx;
  const $ = (sel) => root.querySelector(sel);
  let active = false;
  let source = null; // {key, pixels (Float32Array C,H,W), grid?}
  let sourceKey = "";
  let geom = null; // last computed geometry (ok or not)
  let result = null; // {signature, shape, output (exact, or null until fetched), index?, cmap?, shown?, wts, g, padded, range}
  let hovering = null; // {f, cell, event} under the mouse on a map
  let pendingSignature = "";
  let lastWindow = null; // the window shown last
  let prevWindow = null; // the animation's previous window (drawn faintly)

  const cin = () => (state.get().color === "rgb" ? 3 : 1);

  const controls = mountControls(root, {
    state,
    getCin: cin,
    onPixelResize(h, w) {
      const grid = currentPixels(state.get());
      state.set({ "conv.px": encodePixels(resizePixels(grid, h, w)), "conv.at": [] });
    },
  });

  const inputView = mountInputView($(".conv-input-view"), {
    onHover(lines, event) {
      if (!lines) hideTooltip();
      else showTooltip(event, lines);
    },
    onPixelEdit(r, c, v) {
      const s = state.get();
      const grid = currentPixels(s);
      const ch = grid.c === 3 ? Math.min(2, Math.max(0, s["conv.pxch"] | 0)) : 0;
      grid.values = grid.values.slice();
      grid.values[ch * grid.h * grid.w + r * grid.w + c] = v;
      state.set({ "conv.px": encodePixels(grid) });
    },
  });

  const maps = mountMaps($(".conv-maps"), {
    onSelect(f, row, col) {
      anim.release();
      state.set({ "conv.at": [f, row, col], "conv.sel": f });
    },
    onHover(f, cell, event) {
      hovering = cell && result ? { f, cell, event } : null;
      if (!hovering) return hideTooltip();
      showHover();
    },
  });

  // The chosen output pixel as numbers (filter, row, column): cells of a big map are tiny.
  const picker = mountCellPicker($(".conv-cell-picker"), {
    testid: "conv-cell", label: "Output pixel", axes: ["filter", "row", "col"], showRange: false,
    keys: "or arrow keys on a focused map",
    fallback: () => [Math.min(state.get()["conv.sel"], Math.max(0, weights(state.get(), cin()).cout - 1)), 0, 0],
    onPick([f, row, col]) {
      anim.release();
      state.set({ "conv.at": [f, row, col], "conv.sel": f });
    },
  });

  /** The tooltip of the map cell under the mouse: its exact value, or "…" while that is on its way. */
  function showHover() {
    if (!hovering || !result) return;
    const { f, cell, event } = hovering;
    const [, h, w] = result.shape;
    if (f >= result.shape[0] || cell.row >= h || cell.col >= w) return;
    if (!result.output) demandExact(result);
    const v = result.output ? fmt(result.output[f * h * w + cell.row * w + cell.col], 7) : "…";
    showTooltip(event, [`filter ${f} · (row ${cell.row}, col ${cell.col})`, `value ${v}`, "click: explain this pixel"]);
  }

  // --- exact values of maps drawn from colour indices ---------------------------------
  let exactTimer = 0;

  /** Fetch result's exact float32 maps (once; superseded by newer knob changes). */
  function demandExact(res, asked = true) {
    clearTimeout(exactTimer);
    if (res !== result || res.output) return;
    if (asked) res.asked = true;
    if (res.exact) return;
    const { body, grid, imageName } = res.request;
    res.exact = image.withImage(imageName, (imageId) =>
      postJSON("/api/conv2d", grid ? body : { ...body, image_id: imageId }, { binary: true, key: "conv-exact" }),
    );
    res.exact.then((answer) => {
      if (res !== result) return;
      res.output = answer.arrays.output;
      maps.setExact(res.output);
      showHover();
      showSelection(state.get());
    }, (err) => {
      res.exact = null;
      if (res === result && res.asked && !(err && err.superseded)) reportError(err);
    });
  }

  /** Stop waiting for the exact maps of a result that is being replaced. */
  function dropExact() {
    clearTimeout(exactTimer);
    cancel("conv-exact");
  }

  function drawMaps(s) {
    if (result.output) maps.render(result.output, names(result.wts), s["conv.cmap"], result.range, mapsKey());
    else maps.renderIndex(result.index, names(result.wts), result.shown, mapsKey());
  }

  const anim = mountAnimation($(".conv-input-panel"), {
    state,
    getShape: () => (geom && geom.ok && result ? geom : null),
    onFrame: () => {},
  });

  // --- exports --------------------------------------------------------------------
  $(".conv-export-maps").addEventListener("click", () => maps.exportPng());
  for (const sel of [".conv-export-input", ".conv-export-explain"]) {
    $(sel).addEventListener("click", () => inputView.view.exportPng("convlab-input-receptive-field.png"));
  }
  $(".conv-export-kernels").addEventListener("click", () => exportKernelsPng(weights(state.get(), cin())));
  $(".conv-cmap").addEventListener("change", (e) => state.set({ "conv.cmap": e.target.value }));

  // --- keyboard: space plays/pauses when the focus is not in a text field ----------
  root.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT", "BUTTON"].includes(e.target.tagName);
    if (e.key === " " && !typing && !e.target.closest?.(".grid-view")) {
      e.preventDefault();
      anim.toggle();
    }
  });

  // --- the pipeline -----------------------------------------------------------------
  function currentSourceKey(s) {
    return s["conv.src"] === "pixels" ? `px:${s.color}:${JSON.stringify(s["conv.px"])}` : `img:${s.image}:${s.color}:${s.maxSide}`;
  }

  async function loadSource(s) {
    const key = currentSourceKey(s);
    if (key === sourceKey && source) return source;
    if (s["conv.src"] === "pixels") {
      const grid = currentPixels(s);
      const pixels = Float32Array.from(grid.values);
      pixels.shape = [grid.c, grid.h, grid.w];
      source = { key, pixels, grid };
    } else {
      const pixels = await image.getPixels(s.image, s.color);
      if (currentSourceKey(state.get()) !== key) return null; // the user moved on
      source = { key, pixels, grid: null };
    }
    sourceKey = key;
    return source;
  }

  let sizesKey = "";
  let sizesValue = null;
  function sizes() {
    // clientWidth forces a layout; the centre column's width only moves with the window and presentation mode.
    const s = state.get();
    const key = `${window.innerWidth},${window.innerHeight},${s.present},${s["conv.src"]},${document.body.className}`;
    if (key === sizesKey) return sizesValue;
    sizesKey = key;
    sizesValue = measureSizes();
    return sizesValue;
  }

  function measureSizes() {
    const center = root.querySelector(".col-pictures");
    const width = center.clientWidth || 560;
    const height = Math.max(200, window.innerHeight - 200);
    const pixels = state.get()["conv.src"] === "pixels";
    // On a phone the input has the column to itself (the maps stack below it).
    const share = window.innerWidth <= 760 ? 1 : pixels ? 0.56 : 0.44;
    return { maxW: Math.max(140, Math.floor(width * share) - 30), maxH: Math.min(height - 40, pixels ? 460 : 380) };
  }

  function selection(s, g) {
    const at = s["conv.at"];
    if (!g || !g.ok || at.length !== 3) return null;
    const [f, row, col] = at;
    if (f >= weights(s, cin()).cout || row >= g.hOut || col >= g.wOut || row < 0 || col < 0) return null;
    return { f, row, col };
  }

  /** The row/column box follows the state and the page's own geometry at once. */
  function renderPicker(s) {
    const cur = geom?.ok ? geom : null;
    const chosen = selection(s, cur);
    picker.render(chosen ? [chosen.f, chosen.row, chosen.col] : null, cur ? [weights(s, cin()).cout, cur.hOut, cur.wOut] : [0, 0, 0]);
  }

  function showSelection(s) {
    renderPicker(s);
    const sel = result ? selection(s, result.g) : null;
    const progress = anim.progress();
    maps.setSelection(sel, sel ? progress : null);
    const cell = sel ? { row: sel.row, col: sel.col } : null;
    const moved = cell && lastWindow && (cell.row !== lastWindow.row || cell.col !== lastWindow.col);
    if (progress === null || !cell) prevWindow = null;
    else if (moved) prevWindow = lastWindow;
    inputView.setWindow(cell, prevWindow);
    lastWindow = cell;
    const g0 = result?.g;
    anim.render(s, prevWindow && cell && g0 ? [(cell.row - prevWindow.row) * g0.sh, (cell.col - prevWindow.col) * g0.sw] : null);
    const panel = $(".conv-explain");
    const where = $(".conv-explain-where");
    if (!sel || !result) {
      where.textContent = "";
      panel.replaceChildren(Object.assign(document.createElement("p"), {
        className: "hint",
        textContent: "Click an output pixel (or focus a map and use the arrow keys) to see the multiply-add that made it.",
      }));
      return;
    }
    const { output, wts, g, padded } = result;
    const [, h, w] = result.shape;
    if (!output) demandExact(result);
    const info = multiplyAdd(padded, g, wts, sel.f, sel.row, sel.col, { flip: s["conv.flip"], relu: s["conv.relu"] });
    Object.assign(info, sel);
    const preset = wts.filters[sel.f];
    renderExplain(panel, where, info, {
      serverValue: output ? output[sel.f * h * w + sel.row * w + sel.col] : null,
      serverPending: !output,
      preset: preset === "custom" ? "edited kernel" : PRESET_NAME[preset] || preset,
      flip: s["conv.flip"],
      g,
    });
  }

  // Maps waiting for a new answer are dimmed only if it is slow to come: dimming
  // changes every map canvas's opacity, which makes the compositor copy all of them
  // again (twice: in and out), and an answer normally arrives well within DIM_AFTER_MS.
  let dimTimer = 0;
  function dimSoon() {
    if (!dimTimer) dimTimer = setTimeout(() => maps.setStale(true), DIM_AFTER_MS);
  }
  function undim() {
    clearTimeout(dimTimer);
    dimTimer = 0;
    maps.setStale(false);
  }

  let geometryTimer = 0;
  /** Drop the maps request on its way (and the pictures waiting for it): a newer state was drawn. */
  function forgetPending() {
    clearTimeout(geometryTimer);
    if (pendingSignature) cancel("conv");
    pendingSignature = "";
  }

  let runId = 0;
  /** One pass of the pipeline for state s: source → geometry → maps (from the server) → pictures. */
  async function run(s) {
    const id = ++runId;
    const src = await sourceFor(s, id);
    if (!src) return;
    const [c, h, w] = src.pixels.shape;
    showSource(src, c, h, w);
    const g = geometry(s, h, w);
    geom = g;
    renderPicker(s);
    const wts = weights(s, c);
    const panels = () => renderPanels(s, g, wts, c, h, w);
    if (!g.ok) {
      showImpossible(s, src, g, panels);
      return;
    }
    controls.markInvalid(null);
    $(".conv-input-panel").classList.remove("stale");
    $(".conv-explain-panel").classList.remove("stale");
    const body = requestBody(s, wts, src.grid ? { pixels: src.grid } : { id: s.image, color: s.color });
    const signature = JSON.stringify(body);
    const display = wts.cout * g.hOut * g.wOut > DISPLAY_FROM ? s["conv.cmap"] : null;
    if (result && signature === result.signature && (result.output || result.cmap === display)) {
      redraw(s, src, g, panels); // nothing the server computes changed
      return;
    }
    const wanted = `${signature}|${display}`;
    if (wanted === pendingSignature) return;
    pendingSignature = wanted;
    await fetchMaps(s, src, { g, wts, body, signature, display, wanted, panels });
  }

  /** The pixels of s's input, or null when it failed (said) or a newer run took over. */
  async function sourceFor(s, id) {
    let src;
    try {
      src = await loadSource(s);
    } catch (err) {
      if (id === runId) {
        reportError(err);
        maps.setStale(true);
      }
      return null;
    }
    return src && id === runId ? src : null;
  }

  function showSource(src, c, h, w) {
    const dims = `${c === 3 ? "RGB" : "gray"} ${h} × ${w}`;
    if ($(".conv-input-dims").textContent !== dims) $(".conv-input-dims").textContent = dims;
    if (src.grid) {
      controls.setPixelSize(src.grid.h, src.grid.w);
      controls.setPixelThumb(src.grid);
    }
  }

  /** The output-size and cost panels; an impossible setting still shows the formula that proves it. */
  function renderPanels(s, g, wts, c, h, w) {
    const [kh, kw] = kernelSize(s);
    const pads = g.ok ? g.pads : paddingSides(padding(s), kh, kw, ...s["conv.dil"]).flat();
    const [sh, sw] = s["conv.stride"];
    const [dh, dw] = s["conv.dil"];
    const raw = { h, w, kh, kw, sh, sw, dh, dw, pads, cin: c, cout: wts.cout, groups: wts.groups };
    renderOutputSize($(".conv-size-panel"), g, raw);
    renderCost($(".conv-cost-panel"), g, raw);
  }

  /** An impossible setting: say which knob and why; the last good maps stay, dimmed. */
  function showImpossible(s, src, g, panels) {
    forgetPending(); // an answer still on its way for the old maps is dropped
    panels();
    showError(g.error);
    controls.markInvalid(g.knob);
    maps.setStale(true);
    if (!result) {
      // Opened straight into an impossible setting (a shared link): nothing to keep, so
      // show the input as it is, unpadded, for the student to see what the knobs act on.
      const [, h, w] = src.pixels.shape;
      const plain = { ...s, "conv.k": [1, 1], "conv.pad": "0", "conv.stride": [1, 1], "conv.dil": [1, 1], "conv.mode": "zeros" };
      inputView.render(src.pixels, geometry(plain, h, w), { ...sizes(), pixelGrid: src.grid, channel: s["conv.pxch"] });
    }
    $(".conv-input-panel").classList.add("stale");
    $(".conv-explain-panel").classList.add("stale");
    anim.release();
  }

  /** Same server answer as shown: redraw colours, sizes and the selection only. */
  function redraw(s, src, g, panels) {
    forgetPending();
    panels();
    result.padded = inputView.render(src.pixels, g, { ...sizes(), pixelGrid: src.grid, channel: s["conv.pxch"] });
    result.g = g;
    clearError();
    undim();
    drawMaps(s);
    showSelection(s);
  }

  /** Ask the server for the maps of `req.body` and draw them with the page's own pictures. */
  async function fetchMaps(s, src, req) {
    const { g, body, display, wanted, panels } = req;
    dimSoon();
    dropExact();
    const t0 = performance.now();
    const sent = display ? { ...body, display } : body;
    const pending = image.withImage(s.image, (imageId) =>
      postJSON("/api/conv2d", src.grid ? sent : { ...sent, image_id: imageId }, { binary: true, key: "conv" }),
    );
    pending.catch(() => {}); // handled below
    // The page's own pictures of this change (padded input, output size, cost) are drawn with
    // the maps, in one frame, or after GEOMETRY_WAIT_MS if the answer is slower: every frame
    // that changes anything makes the compositor copy every map canvas again (no GPU), and a
    // frame in between would hold up the answer.
    const box = sizes();
    let padded = null;
    const geometryNow = () => {
      clearTimeout(geometryTimer);
      if (!padded) {
        panels();
        padded = inputView.render(src.pixels, g, { ...box, pixelGrid: src.grid, channel: s["conv.pxch"] });
      }
      return padded;
    };
    clearTimeout(geometryTimer);
    geometryTimer = setTimeout(geometryNow, GEOMETRY_WAIT_MS);
    let answer;
    try {
      answer = await pending;
    } catch (err) {
      if (err && err.superseded) return;
      if (pendingSignature === wanted) pendingSignature = "";
      geometryNow();
      undim();
      maps.setStale(true);
      reportError(err);
      return;
    }
    if (pendingSignature !== wanted) return;
    pendingSignature = "";
    const t1 = performance.now();
    geometryNow();
    undim();
    clearError();
    showAnswer(s, src, req, answer, padded);
    root.dataset.rendered = String(Number(root.dataset.rendered || 0) + 1);
    // Timings for bench/browser_latency.py: request (server + transfer + decode) and drawing.
    window.dispatchEvent(new CustomEvent("convlab:conv-rendered", { detail: { request: t1 - t0, draw: performance.now() - t1, answered: t1, drawn: performance.now() } }));
  }

  /** Keep the server's answer as the result and draw it (exact values, or colour indices first). */
  function showAnswer(s, src, { g, wts, body, signature, display }, answer, padded) {
    const range = { min: answer.output_min, max: answer.output_max };
    const index = answer.arrays.output_index || null;
    result = {
      signature, output: answer.arrays.output || null, index, shape: (answer.arrays.output || index).shape,
      cmap: index ? display : null, shown: index ? { ...range, range: answer.output_range, map: answer.output_map } : null,
      wts, g, padded, range, request: { body, grid: Boolean(src.grid), imageName: s.image },
    };
    drawMaps(state.get());
    if (!result.output) {
      const res = result;
      exactTimer = setTimeout(() => demandExact(res, false), EXACT_AFTER_MS);
    }
    showSelection(state.get());
  }

  /** What moves the maps panel besides the window: the input view's size. */
  const mapsKey = () => `${inputView.view.cssW}x${inputView.view.cssH}`;

  function names(wts) {
    return wts.filters.map((p) => (p === "custom" ? "edited" : PRESET_NAME[p] || p));
  }

  const SELECTION_ONLY = new Set(["conv.at", "conv.speed"]);
  function update(s, changed) {
    if (!active) return;
    controls.render(s);
    $(".conv-cmap").value = s["conv.cmap"];
    if (changed.every((k) => SELECTION_ONLY.has(k) || k === "present" || k === "lab")) {
      if (changed.includes("present")) rerun();
      showSelection(s);
      return;
    }
    if (!changed.includes("conv.at") && !changed.includes("conv.sel")) anim.release();
    run(s);
  }
  const rerun = coalesce(() => active && run(state.get()));
  window.addEventListener("resize", rerun);

  return {
    activate(s) {
      active = true;
      sourceKey = ""; // the image may have changed while the lab was hidden
      update(s, Object.keys(s));
    },
    deactivate() {
      active = false;
      anim.release();
      hideTooltip();
    },
    update,
  };
}

export { defaultPixels };
