// The tiny pixel editor: one text box per pixel laid exactly over the cells of a
// GridView (so the picture, the padding ring and the receptive field stay
// visible underneath). Every value is printed and editable; arrow keys move
// between pixels, Enter/Tab commit.

import { el } from "../ui.js";

export function mountPixelEditor(host, { onEdit }) {
  const layer = el("div", { class: "pixel-editor", "data-testid": "pixel-editor", role: "grid", "aria-label": "Pixel values" });
  host.append(layer);
  let inputs = [];
  let dims = [0, 0];

  function build(h, w) {
    dims = [h, w];
    inputs = [];
    const rows = [];
    for (let r = 0; r < h; r++) {
      const row = el("div", { class: "px-row", role: "row" });
      for (let c = 0; c < w; c++) {
        const input = el("input", {
          type: "text",
          inputmode: "decimal",
          class: "px-cell",
          role: "gridcell",
          "aria-label": `pixel row ${r} col ${c}`,
          "data-testid": `pixel-${r}-${c}`,
          spellcheck: "false",
          autocomplete: "off",
        });
        input.addEventListener("change", () => commit(input, r, c));
        input.addEventListener("keydown", (e) => key(e, r, c));
        input.addEventListener("focus", () => input.select());
        inputs.push(input);
        row.append(input);
      }
      rows.push(row);
    }
    layer.replaceChildren(...rows);
  }

  function commit(input, r, c) {
    const v = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(v) || Math.abs(v) > 1000) {
      input.classList.add("invalid");
      input.title = "Type a number (pixels are usually between 0 and 1)";
      return;
    }
    input.classList.remove("invalid");
    input.title = "";
    onEdit(r, c, v);
  }

  function key(e, r, c) {
    const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], Enter: [1, 0] }[e.key]
      ?? (e.key === "ArrowLeft" && e.target.selectionStart === 0 ? [0, -1] : null)
      ?? (e.key === "ArrowRight" && e.target.selectionEnd === e.target.value.length ? [0, 1] : null);
    if (!d) return;
    const [h, w] = dims;
    const nr = r + d[0];
    const nc = c + d[1];
    if (e.key === "Enter") commit(e.target, r, c);
    if (nr < 0 || nc < 0 || nr >= h || nc >= w) return;
    e.preventDefault();
    inputs[nr * w + nc].focus();
  }

  return {
    /** Place over the view: the image's cells start at (top, left) cells, each `scale` CSS px. */
    render(values, h, w, { top, left, scale }) {
      if (dims[0] !== h || dims[1] !== w) build(h, w);
      layer.style.left = `${left * scale}px`;
      layer.style.top = `${top * scale}px`;
      layer.style.gridTemplateColumns = `repeat(${w}, ${scale}px)`;
      layer.style.setProperty("--cell", `${scale}px`);
      layer.style.fontSize = `${Math.max(9, Math.min(15, Math.floor(scale * 0.36)))}px`;
      values.forEach((v, i) => {
        const input = inputs[i];
        const text = String(Number(Number(v).toPrecision(3)));
        if (document.activeElement !== input && input.value !== text) input.value = text;
        input.style.color = v > 0.55 ? "#000" : "#fff";
      });
      layer.hidden = false;
    },
    hide() {
      layer.hidden = true;
    },
  };
}
