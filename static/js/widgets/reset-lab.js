// "Reset this lab": puts every state field a lab registered back to its default
// (one history entry, so Back undoes it; an Undo button does too). And when the
// input image changes while the lab holds non-default settings, it says which
// ones came along ("kept from before: kernel 5 × 5, padding 2"), so settings of
// one task never carry over to the next sample silently.
//
// A field opts into that note with a `label` (and an optional `show(value)`);
// fields without one (the clicked cell) are reset but not listed; `reset: false`
// keeps a field out of the reset (the More lab's open view).

import { el } from "../ui.js";

const showValue = (v) => (Array.isArray(v) ? v.join(" × ") : typeof v === "boolean" ? (v ? "on" : "off") : String(v));

/** "kernel 5 × 5, padding 2" for the labelled fields of `names` that differ from their defaults. */
export function describeChanged(state, names) {
  const s = state.get();
  return state.nonDefault(names)
    .map((name) => state.field(name))
    .filter((f) => f.label)
    .map((f) => `${f.label} ${(f.show || showValue)(s[f.name])}`.trim());
}

/**
 * mountResetLab(slot, {state, lab, fields}) fills `slot` with the button and the note.
 * fields: the lab's FIELDS table. Returns {element}.
 */
export function mountResetLab(slot, { state, lab, fields }) {
  const names = fields.filter((f) => f.reset !== false).map((f) => f.name);
  const button = el("button", { type: "button", class: "lab-reset", "data-testid": `reset-${lab}`, title: "Every setting of this lab back to its default (Back undoes it)" }, "Reset this lab");
  const undo = el("button", { type: "button", class: "lab-undo", "data-testid": `reset-${lab}-undo`, hidden: true }, "Undo");
  const again = el("button", { type: "button", class: "lab-reset-inline", "data-testid": `reset-${lab}-kept`, hidden: true }, "Reset this lab");
  const words = el("span", {});
  const note = el("p", { class: "lab-carried", "data-testid": `reset-${lab}-note`, role: "status", hidden: true }, words, " ", again, undo);
  const element = el("div", { class: "lab-tools" }, el("div", { class: "lab-tools-buttons" }, button), note);
  slot.append(element);
  let before = null; // the values the last reset replaced, while Undo is offered
  let resetting = false;

  again.addEventListener("click", () => button.click());
  button.addEventListener("click", () => {
    const changed = state.nonDefault(names);
    const s = state.get();
    before = Object.fromEntries(changed.map((name) => [name, s[name]]));
    resetting = true;
    state.reset(names, { history: true });
    resetting = false;
    undo.hidden = !changed.length;
    again.hidden = true;
    note.hidden = false;
    words.textContent = changed.length
      ? `Reset: ${changed.length} setting${changed.length > 1 ? "s" : ""} back to the default${changed.length > 1 ? "s" : ""}.`
      : "Nothing to reset: every setting of this lab is at its default.";
  });
  undo.addEventListener("click", () => {
    if (before) state.set(before, { history: true });
    before = null;
    undo.hidden = true;
    note.hidden = true;
  });

  state.subscribe((s, changed) => {
    if (resetting) return;
    // The student moved on: the reset's words and its undo, or the kept-settings note, no longer apply.
    if (changed.some((k) => names.includes(k) && state.field(k).label)) {
      note.hidden = true;
      undo.hidden = true;
      before = null;
    }
    if (changed.includes("image") && s.lab === lab) {
      const kept = describeChanged(state, names);
      note.hidden = !kept.length;
      undo.hidden = true;
      again.hidden = false;
      words.textContent = kept.length ? `Kept from before: ${kept.join(", ")}.` : "";
    }
  });
  return { element };
}
