// Small form controls bound to state fields: each reads its value from the state
// on render and writes it back with state.set on change.

import { postJSON } from "../../api.js";
import { clearError, el, reportError } from "../../ui.js";

/**
 * POST `body` to `url` for the view's state `s` and return the answer, or null when
 * there is nothing to draw: the request failed (the error is shown and the pictures
 * dimmed), a newer request replaced it, or the state moved on while it was away.
 * A fresh answer clears the error line and undims the pictures.
 */
export async function postForView({ state, pictures }, s, url, body, key) {
  let answer;
  try {
    answer = await postJSON(url, body, { key });
  } catch (err) {
    if (reportError(err)) pictures.classList.add("stale");
    return null;
  }
  if (state.get() !== s) return null;
  clearError();
  pictures.classList.remove("stale");
  return answer;
}

/** A labelled number input. Returns {row, input, render(state)}. */
export function numberControl(state, field, label, { min = 0, max = 99, step = 1, testid = null, title = "" } = {}) {
  const id = `fam-${field.replace(/\W/g, "-")}`;
  const input = el("input", { type: "number", id, min, max, step, "data-testid": testid, title: title || null });
  input.addEventListener("change", () => {
    const v = Number(input.value);
    if (!Number.isFinite(v)) return;
    state.set({ [field]: Math.max(min, Math.min(max, Math.round(v))) });
  });
  const row = el("div", { class: "row" }, el("label", { for: id }, label), input);
  return {
    row,
    input,
    render(s) {
      if (document.activeElement !== input || Number(input.value) !== s[field]) input.value = String(s[field]);
    },
  };
}

/** A labelled select of [value, text] options. */
export function selectControl(state, field, label, options, { testid = null } = {}) {
  const id = `fam-${field.replace(/\W/g, "-")}`;
  const select = el("select", { id, "data-testid": testid }, ...options.map(([v, t]) => el("option", { value: v }, t)));
  select.addEventListener("change", () => state.set({ [field]: select.value }));
  const row = el("div", { class: "row" }, el("label", { for: id }, label), select);
  return {
    row,
    select,
    render(s) {
      select.value = String(s[field]);
    },
  };
}

/** A labelled text input holding comma-separated numbers (state value: array of numbers). */
export function numbersControl(state, field, label, { testid = null, placeholder = "" } = {}) {
  const id = `fam-${field.replace(/\W/g, "-")}`;
  const input = el("input", { type: "text", id, "data-testid": testid, placeholder, spellcheck: "false", class: "fam-numbers" });
  input.addEventListener("change", () => {
    const parts = input.value.split(/[\s,;]+/).filter(Boolean).map(Number);
    if (!parts.length || !parts.every(Number.isFinite)) {
      input.classList.add("invalid");
      input.setAttribute("aria-invalid", "true");
      return;
    }
    input.classList.remove("invalid");
    input.removeAttribute("aria-invalid");
    state.set({ [field]: parts });
  });
  const row = el("div", { class: "row" }, el("label", { for: id }, label), input);
  return {
    row,
    input,
    render(s) {
      if (document.activeElement !== input) input.value = s[field].join(", ");
    },
  };
}

/** A panel with a title. Returns the panel element. */
export function panel(parent, title, attrs = {}) {
  const p = el("div", { class: "panel", ...attrs }, el("h2", { class: "panel-title" }, title));
  parent.append(p);
  return p;
}
