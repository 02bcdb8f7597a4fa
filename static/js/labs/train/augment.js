// The strip of augmented samples: one training digit as stored, then fresh random
// shifts, rotations and scales of it (GET /api/train/augmented), what the chapter's
// model sees of that digit in as many epochs when augmentation is on.

import { getJSON } from "../../api.js";
import { el } from "../../ui.js";

const COUNT = 7;

function paint(canvas, rows) {
  const n = rows.length;
  canvas.width = canvas.height = n;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  rows.flat().forEach((v, i) => {
    const g = 255 - Math.round(v * 255); // ink dark on white, as on the drawing pad
    img.data.set([g, g, g, 255], 4 * i);
  });
  ctx.putImageData(img, 0, 0);
}

/** Show digit `index` and COUNT augmented copies drawn with `seed` in `row`. */
export async function showAugmented(row, index, seed) {
  const answer = await getJSON(`/api/train/augmented?index=${index}&count=${COUNT}&seed=${seed}`, { key: "train-augment" });
  const figure = (rows, caption, testid) => {
    const canvas = el("canvas", { class: "train-aug", "data-testid": testid, "aria-label": caption });
    paint(canvas, rows);
    return el("figure", { class: "train-aug-card" }, canvas, el("figcaption", {}, caption));
  };
  row.replaceChildren(
    figure(answer.original, `stored (a ${answer.label})`, "train-aug-original"),
    ...answer.images.map((rows, i) => figure(rows, `draw ${i + 1}`, `train-aug-${i}`)),
  );
}
