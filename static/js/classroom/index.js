// The classroom tools, page-wide: teacher links (lock/hide/caption), exercises,
// code export with the parity badge, learn-a-filter, the comparison link, and the
// `embed` mode the comparison page uses. They work on any lab through state fields
// and data-testids only; no lab needs to know about them.

import * as state from "../state.js";
import { STRINGS, t } from "../strings.js";
import { FIELDS as EXERCISE_FIELDS, mountExercise } from "./exercise.js";
import { FIELDS as LEARN_FIELDS, mountLearn } from "./learn.js";
import { FIELDS as TEACHER_FIELDS, mountTeacher } from "./teacher.js";
import { mountCode } from "./code.js";

const TOOLS = ["", "teacher", "code", "learn"];

export const FIELDS = [
  ...TEACHER_FIELDS,
  ...EXERCISE_FIELDS,
  ...LEARN_FIELDS,
  { name: "tool", def: "", parse: (s) => (TOOLS.includes(s) ? s : undefined) },
  { name: "embed", def: false },
];

/** Fill [data-i18n] text and [data-i18n-title] / [data-i18n-aria-label] attributes from strings.js. */
export function applyStrings(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    if (STRINGS[node.dataset.i18n]) node.textContent = t(node.dataset.i18n);
  }
  for (const [attr, key] of [["title", "i18nTitle"], ["aria-label", "i18nAriaLabel"]]) {
    for (const node of root.querySelectorAll(`[data-${attr === "title" ? "i18n-title" : "i18n-aria-label"}]`)) {
      if (STRINGS[node.dataset[key]]) node.setAttribute(attr, t(node.dataset[key]));
    }
  }
}

/** A /compare link with this state as side A and the same state as side B. */
export function compareUrl(s = state.get()) {
  const clean = { ...s, ex: "", tool: "", embed: false, lock: "", hide: "" };
  const fragment = state.encode(clean);
  const params = new URLSearchParams({ a: fragment, b: fragment });
  return `${location.origin}/compare#${params.toString()}`;
}

/** The "Classroom" disclosure menu in the header: Escape or a click elsewhere closes it. */
function mountMenu() {
  const button = document.getElementById("tool-menu");
  const list = document.getElementById("tool-menu-list");
  const set = (open) => {
    list.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => {
    set(list.hidden);
    if (!list.hidden) list.querySelector("button, a")?.focus();
  });
  list.addEventListener("keydown", (e) => {
    const items = [...list.querySelectorAll("button, a")];
    const i = items.indexOf(document.activeElement);
    if (e.key === "Escape") {
      set(false);
      button.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length].focus();
    }
  });
  document.addEventListener("click", (e) => {
    if (!list.hidden && !e.target.closest(".tool-menu")) set(false);
  });
  list.addEventListener("focusout", (e) => {
    if (e.relatedTarget && !e.relatedTarget.closest(".tool-menu")) set(false);
  });
  return { close: () => set(false) };
}

export function mountClassroom(ctx) {
  state.registerFields(FIELDS);
  applyStrings(document);
  const teacher = mountTeacher();
  const exercise = mountExercise();
  const code = mountCode();
  const learn = mountLearn();
  const dialogs = { teacher: teacher.builder, code, learn };

  const menu = mountMenu();
  const on = (id, fn) => document.getElementById(id)?.addEventListener("click", () => {
    menu.close();
    fn();
  });
  on("tool-exercise", () => exercise.toggle());
  on("tool-teacher", () => state.set({ tool: "teacher" }));
  on("tool-code", () => state.set({ tool: "code" }));
  on("tool-learn", () => state.set({ tool: "learn" }));
  // Class mode (peer instruction): loaded on first use, or at once when this tab runs a class.
  let classPanel = null;
  const classMode = async () => {
    if (!classPanel) classPanel = (await import("../labs/classmode/panel.js")).mountClassPanel(ctx);
    return classPanel;
  };
  on("class-start", async () => (await classMode()).start());
  try {
    if (sessionStorage.getItem("convlab.class.teacher")) classMode();
  } catch {
    /* storage off: no class to resume */
  }
  on("tool-compare", () => {
    state.flush();
    window.open(compareUrl(), "_blank", "noopener");
  });

  function openTool(tool) {
    for (const [name, d] of Object.entries(dialogs)) {
      if (name === tool) d.open();
      else if (d.isOpen()) d.close();
    }
  }

  function applyEmbed(on) {
    document.documentElement.classList.toggle("embed", Boolean(on));
  }

  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName) || e.target.isContentEditable;
    if (typing || e.ctrlKey || e.metaKey || e.altKey || document.querySelector("dialog[open]")) return;
    if (e.key === "e" || e.key === "E") exercise.toggle();
  });

  state.subscribe((s, changed) => {
    if (changed.includes("tool")) openTool(s.tool);
    if (changed.includes("embed")) applyEmbed(s.embed);
  });
  applyEmbed(state.get().embed);
  // Dialogs named in a shared link open once the labs have rendered.
  requestAnimationFrame(() => state.get().tool && openTool(state.get().tool));
  return { teacher, exercise, code, learn };
}
