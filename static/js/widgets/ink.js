// A soft round pen on a square grid of ink values in [0, 1]: the drawing pads of the
// Train and Inside labs both lay their strokes down with it.

/** Ink one soft dot of radius `pen` cells centred at (cy, cx), keeping the darker value. */
export function dab(ink, res, pen, cy, cx) {
  for (let y = Math.floor(cy - pen - 1); y <= cy + pen + 1; y++) {
    for (let x = Math.floor(cx - pen - 1); x <= cx + pen + 1; x++) {
      if (y < 0 || x < 0 || y >= res || x >= res) continue;
      const d = Math.hypot(y + 0.5 - cy, x + 0.5 - cx);
      const v = Math.max(0, Math.min(1, pen + 0.5 - d)); // soft edge one cell wide
      ink[y * res + x] = Math.max(ink[y * res + x], v);
    }
  }
}

/** Dots every half cell from `from` to `to` (both [y, x] in cells), so a fast stroke has no gaps. */
export function strokeLine(ink, res, pen, from, to) {
  const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1]) * 2));
  for (let i = 1; i <= steps; i++) {
    dab(ink, res, pen, from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps);
  }
}
