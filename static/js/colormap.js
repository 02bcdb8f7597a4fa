// Colour maps: a diverging blue–white–orange map for signed values (colour-blind
// safe, symmetric about zero), viridis for magnitudes, and gray for images.
// Each map is a lookup table of 256 RGB triples built once from a few stops.

// Viridis sampled at 9 evenly spaced points (matplotlib's published table, van der Walt & Smith, CC0).
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
// Blue → white → orange: stays distinguishable under deuteranopia and protanopia.
const DIVERGING = ["#08306b", "#2f6fb0", "#8bbbdf", "#f7f7f7", "#f9b97a", "#d86a18", "#7f2704"];
const GRAY = ["#000000", "#ffffff"];

function hexToRgb(hex) {
  const v = Number.parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function buildTable(stops) {
  const rgb = stops.map(hexToRgb);
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1);
    const j = Math.min(Math.floor(t), rgb.length - 2);
    const f = t - j;
    for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(rgb[j][c] * (1 - f) + rgb[j + 1][c] * f);
  }
  return table;
}

export const MAPS = {
  diverging: { name: "diverging", table: buildTable(DIVERGING), signed: true },
  viridis: { name: "viridis", table: buildTable(VIRIDIS), signed: false },
  gray: { name: "gray", table: buildTable(GRAY), signed: false },
};

/**
 * The range a map is drawn over: symmetric about zero for a diverging map,
 * data min..max otherwise. A constant map gets a unit range so it still draws.
 */
export function rangeFor(data, map, fixed = null) {
  if (fixed) return fixed;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (map.signed) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return [-m, m];
  }
  if (hi === lo) return [lo, lo + 1];
  return [lo, hi];
}

/** Pick the map a student expects: diverging when the data has both signs. */
export function autoMap(data) {
  let neg = false;
  let pos = false;
  for (let i = 0; i < data.length && !(neg && pos); i++) {
    if (data[i] < 0) neg = true;
    else if (data[i] > 0) pos = true;
  }
  return neg ? MAPS.diverging : MAPS.viridis;
}

/** Index 0..255 of value v in range [lo, hi]. */
export function indexOf(v, lo, hi) {
  const t = (v - lo) / (hi - lo);
  return Math.max(0, Math.min(255, Math.round(t * 255)));
}

/** [r, g, b] of value v. */
export function colorOf(v, map, lo, hi) {
  const i = indexOf(v, lo, hi) * 3;
  return [map.table[i], map.table[i + 1], map.table[i + 2]];
}

/** CSS colour with readable text on top ("#000" or "#fff") for value v. */
export function cssColor(v, map, lo, hi) {
  const [r, g, b] = colorOf(v, map, lo, hi);
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return { background: `rgb(${r},${g},${b})`, text: luminance > 140 ? "#000" : "#fff" };
}
