// "More of the family": transposed convolution, 1-D convolution, groups and
// depthwise, and what PyTorch and TensorFlow/Keras compute for the same settings;
// then one convolution seen three more ways: in frequency (fft), as separable
// low-rank kernels (separable), and lowered to one matrix product (im2col).
// One module per view in ./family/; this file only switches between them.

import * as conv1d from "./family/conv1d.js";
import * as frameworks from "./family/frameworks.js";
import * as groups from "./family/groups.js";
import * as transpose from "./family/transpose.js";
import * as backward from "./family/transpose-backward.js";
import * as extras from "./family/transpose-extras.js";
import * as fft from "./family/fft.js";
import * as separable from "./family/separable.js";
import * as im2col from "./family/im2col.js";

const VIEWS = {
  transpose: [transpose, backward, extras],
  conv1d: [conv1d],
  groups: [groups],
  frameworks: [frameworks],
  fft: [fft],
  separable: [separable],
  im2col: [im2col],
};

export const FIELDS = [
  { name: "family.view", def: "transpose", reset: false }, // Reset this lab keeps the open view
  ...Object.values(VIEWS).flatMap((mods) => mods.flatMap((m) => m.FIELDS)),
];

export function mount(root, ctx) {
  const controllers = {};
  for (const [name, mods] of Object.entries(VIEWS)) {
    const panel = root.querySelector(`[data-family-view="${name}"]`);
    const cols = {
      panel,
      controls: panel.querySelector(".col-controls"),
      pictures: panel.querySelector(".col-pictures"),
      explain: panel.querySelector(".col-explain"),
    };
    controllers[name] = mods.map((m) => m.mount(cols, ctx));
  }
  const tabs = [...root.querySelectorAll("[data-family-tab]")];
  for (const tab of tabs) tab.addEventListener("click", () => ctx.state.set({ "family.view": tab.dataset.familyTab }, { history: true }));
  // A tablist is one tab stop: the arrow keys (and Home/End) move between the views.
  root.querySelector("[role='tablist']").addEventListener("keydown", (e) => {
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const tab = tabs[(to + tabs.length) % tabs.length];
    ctx.state.set({ "family.view": tab.dataset.familyTab }, { history: true });
    tab.focus();
  });

  let active = false;
  function viewOf(s) {
    return VIEWS[s["family.view"]] ? s["family.view"] : "transpose";
  }
  function show(s) {
    const view = viewOf(s);
    for (const tab of tabs) {
      const on = tab.dataset.familyTab === view;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    for (const panel of root.querySelectorAll("[data-family-view]")) panel.hidden = panel.dataset.familyView !== view;
    // The image picker follows the views that use the current image.
    const slot = root.querySelector(`[data-family-view="${view}"] [data-input-slot]`);
    if (slot) ctx.picker.attach(slot);
    for (const [name, list] of Object.entries(controllers)) if (name !== view) list.forEach((c) => c.deactivate?.());
    return view;
  }
  function render(s, changed) {
    const view = show(s);
    for (const c of controllers[view]) c.render(s, changed);
  }
  return {
    activate(s) {
      active = true;
      render(s, Object.keys(s));
    },
    deactivate() {
      active = false;
      for (const list of Object.values(controllers)) list.forEach((c) => c.deactivate?.());
    },
    update(s, changed) {
      if (!active) return;
      // The image may change while another view is shown: re-render everything on a view switch.
      render(s, changed.includes("family.view") ? Object.keys(s) : changed);
    },
  };
}
