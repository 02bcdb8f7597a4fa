// The groups control and the kernel tensor drawn by group: a C_out × C_in block
// diagram (one row per filter, one column per input channel) where a filled cell
// means "this filter has a kh×kw slice for this channel"; each group is outlined,
// the edited filter's row is marked, and a click on a row edits that filter.

import { el } from "../../ui.js";
import { groupOptions } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const CH = { 1: ["gray"], 3: ["R", "G", "B"] };

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

export function mountGroups(root, { onGroups, onSelectFilter }) {
  const select = root.querySelector("#conv-groups");
  const hint = root.querySelector(".conv-groups-hint");
  const diagram = root.querySelector(".conv-groups-diagram");
  select.addEventListener("change", () => onGroups(Number(select.value)));
  let drawn = "";

  function draw(wts, sel) {
    const { cin, cout, groups, cinG, kh, kw } = wts;
    const key = `${cin},${cout},${groups},${sel},${kh},${kw}`;
    if (key === drawn) return;
    drawn = key;
    const names = CH[cin] || Array.from({ length: cin }, (_, c) => `c${c}`);
    const cell = cout > 8 ? 8 : cout > 4 ? 11 : 14;
    const left = 22;
    const top = 14;
    const width = left + cin * cell + 4;
    const height = top + cout * cell + 4;
    const pic = svg("svg", {
      width, height, viewBox: `0 0 ${width} ${height}`, class: "groups-svg", role: "img",
      "aria-label": `Kernel tensor by group: ${cout} filters × ${cin} input channels, ${groups} group${groups > 1 ? "s" : ""}; `
        + `each filter has ${cinG} slice${cinG > 1 ? "s" : ""} of ${kh}×${kw}`,
    });
    names.forEach((name, c) => pic.append(svg("text", { x: left + (c + 0.5) * cell, y: top - 3, class: "g-col" }, name)));
    const perGroup = cout / groups;
    for (let f = 0; f < cout; f++) {
      const group = Math.floor(f / perGroup);
      const row = svg("g", { class: `g-row${f === sel ? " g-sel" : ""}`, "data-group-filter": f });
      row.append(svg("title", {}, `filter ${f}: group ${group}, sees ${names.slice(group * cinG, (group + 1) * cinG).join(", ")}`));
      row.append(svg("text", { x: left - 4, y: top + (f + 0.72) * cell, class: "g-label" }, String(f)));
      for (let c = 0; c < cin; c++) {
        const on = c >= group * cinG && c < (group + 1) * cinG;
        row.append(svg("rect", {
          x: left + c * cell + 1, y: top + f * cell + 1, width: cell - 2, height: cell - 2,
          class: on ? "g-on" : "g-off",
        }));
      }
      row.addEventListener("click", () => onSelectFilter(f));
      pic.append(row);
    }
    for (let g = 0; g < groups; g++) {
      pic.append(svg("rect", {
        x: left + g * cinG * cell + 0.5, y: top + g * perGroup * cell + 0.5,
        width: cinG * cell - 1, height: perGroup * cell - 1, class: "g-outline",
      }));
    }
    const shape = el("div", { class: "groups-shape" },
      el("span", { class: "formula", "data-testid": "weight-shape", title: "weight shape (C_out, C_in/groups, kh, kw)" },
        `W ${cout}×${cinG}×${kh}×${kw}`),
      el("span", { class: "hint" }, cin === 1 ? "gray input: 1 channel" : groups === 1 ? "all channels" : cinG === 1 ? "1 channel each" : `${cinG} channels each`));
    // One input channel has nothing to split: the block diagram would be a single column.
    diagram.replaceChildren(...(cin === 1 ? [shape] : [pic, shape]));
  }

  // Rewriting the same text is still a DOM change, and any change costs a frame (see conv.js).
  const setText = (node, text) => {
    if (node.textContent !== text) node.textContent = text;
  };

  return {
    render(s, wts, sel) {
      const options = groupOptions(wts.cin, wts.cout);
      if (select.options.length !== options.length || [...select.options].some((o, i) => Number(o.value) !== options[i])) {
        select.replaceChildren(...options.map((g) => el("option", { value: String(g) },
          g === 1 ? "1 (standard)" : g === wts.cin ? `${g} (depthwise)` : String(g))));
      }
      select.value = String(wts.groups);
      select.disabled = options.length < 2;
      const asked = s["conv.groups"];
      if (asked !== wts.groups && asked !== 1) {
        setText(hint, `groups ${asked} must divide C_in ${wts.cin} and C_out ${wts.cout}: using 1`);
        hint.classList.add("warn-text");
      } else {
        setText(hint, options.length < 2 && wts.cin > 1 ? `groups > 1 must divide C_in ${wts.cin} and C_out ${wts.cout}` : "");
        hint.classList.remove("warn-text");
      }
      draw(wts, sel);
    },
  };
}
