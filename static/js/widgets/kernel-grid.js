// An editable grid of kernel weights: one small table of number inputs per input
// channel, each cell tinted with the diverging colour map (and the number always
// printed, so colour is never the only carrier). Arrow keys move between cells.

import { MAPS, cssColor } from "../colormap.js";
import { el } from "../ui.js";

const CHANNEL_NAMES = { 1: ["gray"], 3: ["R", "G", "B"] };

export function mountKernelGrid(root, { onEdit }) {
  let shape = null; // [cin, kh, kw]
  let shownNames = ""; // the channel names the tables were built for
  let inputs = [];
  let slices = [];
  let shown = 0; // the input channel on screen when there are several

  function build(cin, kh, kw, names) {
    shape = [cin, kh, kw];
    shownNames = names.join(",");
    inputs = [];
    const size = kw <= 3 ? "" : kw <= 5 ? "k-mid" : kw <= 9 ? "k-small" : "k-tiny";
    shown = Math.min(shown, cin - 1);
    // Tabs whenever a slice is not simply "the gray image" (a group's single slice says which channel it weighs).
    const tabs = cin > 1 || names[0] !== "gray"
      ? el("div", { class: "slice-tabs", role: "tablist", "aria-label": "Input channel of the kernel" },
        el("span", { class: "slice-tabs-label" }, "slice"),
        ...names.map((name, c) => el("button", {
          type: "button", role: "tab", class: "slice-tab", "data-testid": `kernel-slice-${c}`,
          "aria-selected": String(c === shown), onclick: () => show(c),
        }, name)))
      : null;
    slices = names.map((name, c) => {
        const table = el("table", { class: `kernel-table ${size}`, "aria-label": `weights of input channel ${name}` });
        const cells = [];
        for (let a = 0; a < kh; a++) {
          const tr = el("tr");
          for (let b = 0; b < kw; b++) {
            const input = el("input", {
              type: "text",
              inputmode: "decimal",
              class: "kcell",
              "aria-label": `weight ${name} row ${a} col ${b}`,
              "data-testid": `kernel-cell-${c}-${a}-${b}`,
              spellcheck: "false",
              autocomplete: "off",
            });
            input.addEventListener("change", () => {
              const v = Number(input.value);
              if (input.value.trim() === "" || !Number.isFinite(v)) {
                input.classList.add("invalid");
                return;
              }
              input.classList.remove("invalid");
              onEdit(c, a * kw + b, v);
            });
            input.addEventListener("keydown", (e) => move(e, c, a, b));
            cells.push(input);
            tr.append(el("td", {}, input));
          }
          table.append(tr);
        }
        inputs.push(cells);
        return el("div", { class: "kernel-slice", hidden: c !== shown }, table);
    });
    root.replaceChildren(...(tabs ? [tabs] : []), ...slices);
  }

  function show(c) {
    shown = c;
    slices.forEach((node, i) => (node.hidden = i !== c));
    root.querySelectorAll(".slice-tab").forEach((tab, i) => tab.setAttribute("aria-selected", String(i === c)));
  }

  function move(e, c, a, b) {
    const [, kh, kw] = shape;
    const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!d) return;
    const input = e.target;
    // Left/right move the caret inside the text first.
    if (d[1] && input.selectionStart !== input.selectionEnd) return;
    if (d[1] < 0 && input.selectionStart > 0) return;
    if (d[1] > 0 && input.selectionEnd < input.value.length) return;
    const r = a + d[0];
    const q = b + d[1];
    if (r < 0 || q < 0 || r >= kh || q >= kw) return;
    e.preventDefault();
    inputs[c][r * kw + q].focus();
    inputs[c][r * kw + q].select();
  }

  return {
    /**
     * Show the slices (arrays of kh·kw numbers) of one filter; `names` label the
     * input channel each slice weighs (default gray / R, G, B / c0, c1, …).
     */
    render(slices, kh, kw, names = null) {
      const cin = slices.length;
      names ??= CHANNEL_NAMES[cin] || Array.from({ length: cin }, (_, i) => `c${i}`);
      if (!shape || shape[0] !== cin || shape[1] !== kh || shape[2] !== kw || shownNames !== names.join(",")) build(cin, kh, kw, names);
      let m = 0;
      for (const slice of slices) for (const v of slice) m = Math.max(m, Math.abs(v));
      m = m || 1;
      slices.forEach((slice, c) => {
        slice.forEach((v, i) => {
          const input = inputs[c][i];
          const text = String(Number(v.toPrecision(3)));
          if (document.activeElement !== input && input.value !== text) input.value = text;
          input.classList.remove("invalid");
          const col = cssColor(v, MAPS.diverging, -m, m);
          input.style.background = col.background;
          input.style.color = col.text;
        });
      });
    },
  };
}
