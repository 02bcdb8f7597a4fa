// The Exercise drawer: a seeded question for the active lab (Convolution, Pooling,
// Network); the student types an answer, is told right or wrong with the worked
// arithmetic, and can ask for a fresh one. `ex` (the seed) and `exk` (the kind)
// live in the URL, so one link hands a whole class the same exercise.

import * as state from "../state.js";
import { el } from "../ui.js";
import { t } from "../strings.js";
import { copyText } from "./dialog.js";
import { KINDS, check, formatAnswer, makeExercise } from "./exercise-gen.js";

export const FIELDS = [
  { name: "ex", def: "", parse: (s) => (/^\d{1,9}$/.test(s) ? s : undefined) },
  { name: "exk", def: "", parse: (s) => (/^[a-z]{0,10}$/.test(s) ? s : undefined) },
];

const LAB_BUTTONS = [["conv", "ex.goConv"], ["pool", "ex.goPool"], ["network", "ex.goNetwork"]];
export const freshSeed = () => String(1 + Math.floor(Math.random() * 999_999));

export function mountExercise() {
  const title = el("h2", { id: "exercise-title", class: "drawer-title" }, t("ex.title"));
  const seedLabel = el("span", { class: "hint", "data-testid": "exercise-seed" });
  const closeButton = el("button", { type: "button", class: "cl-dialog-close", "data-testid": "exercise-close",
    onclick: () => state.set({ ex: "" }) }, t("dialog.close"));
  const kindSelect = el("select", { id: "exercise-kind", "data-testid": "exercise-kind" });
  const question = el("p", { class: "exercise-question", "data-testid": "exercise-question" });
  const figures = el("div", { class: "exercise-figures" });
  const answer = el("input", { type: "text", id: "exercise-answer", inputmode: "decimal", autocomplete: "off",
    "data-testid": "exercise-answer", class: "exercise-input" });
  const checkButton = el("button", { type: "submit", class: "primary", "data-testid": "exercise-check" }, t("ex.check"));
  const revealButton = el("button", { type: "button", "data-testid": "exercise-reveal" }, t("ex.reveal"));
  const feedback = el("p", { class: "exercise-feedback", role: "status", "aria-live": "polite", "data-testid": "exercise-feedback" });
  const working = el("ol", { class: "exercise-working formula", "data-testid": "exercise-working", "aria-label": t("ex.working") });
  const workingBox = el("div", { hidden: true }, el("h3", { class: "panel-title" }, t("ex.working")), working);
  const freshButton = el("button", { type: "button", "data-testid": "exercise-new",
    onclick: () => state.set({ ex: freshSeed() }, { history: true }) }, t("ex.fresh"));
  const linkStatus = el("span", { class: "hint", role: "status" });
  const linkButton = el("button", { type: "button", "data-testid": "exercise-link", onclick: async () => {
    state.flush();
    linkStatus.textContent = await copyText(state.shareUrl());
  } }, t("ex.copyLink"));
  const form = el("form", { class: "exercise-form", "data-testid": "exercise-form" },
    el("label", { for: "exercise-answer" }, t("ex.answerLabel")), answer, checkButton, revealButton);
  const otherLab = el("div", { class: "exercise-other", hidden: true },
    el("p", {}, t("ex.otherLab")),
    ...LAB_BUTTONS.map(([lab, key]) => el("button", { type: "button", onclick: () => state.set({ lab }, { history: true }) }, t(key))));
  const body = el("div", { class: "exercise-body" },
    el("div", { class: "row" }, el("label", { for: "exercise-kind" }, t("ex.kindLabel")), kindSelect),
    question, figures, form, feedback, workingBox,
    el("div", { class: "row" }, freshButton, linkButton), linkStatus);
  const drawer = el("aside", { id: "exercise-drawer", class: "drawer", "aria-labelledby": "exercise-title",
    "data-testid": "exercise-panel", "data-classroom-ui": "1", hidden: true },
  el("div", { class: "drawer-head" }, title, seedLabel, closeButton), otherLab, body);
  document.body.append(drawer);

  let current = null;
  let renderedKey = "";

  function renderFigures(ex, reveal) {
    figures.replaceChildren(...(ex.figures || []).map((fig) => {
      const inWindow = new Set((fig.window || []).map(([r, c]) => `${r},${c}`));
      const rows = fig.grid.map((row, r) => el("tr", {}, ...row.map((v, c) => {
        const marked = reveal && inWindow.has(`${r},${c}`);
        return el("td", { class: marked ? "in-window" : null }, marked ? `[${v}]` : String(v));
      })));
      return el("figure", { class: "exercise-figure" },
        el("figcaption", {}, fig.label),
        el("table", { class: "numbers exercise-grid" }, el("tbody", {}, ...rows)));
    }));
  }

  function showWorking(ex) {
    working.replaceChildren(...ex.working.map((line) => el("li", {}, line)));
    workingBox.hidden = false;
    renderFigures(ex, true);
  }

  function render(s) {
    const open = Boolean(s.ex);
    drawer.hidden = !open;
    document.documentElement.classList.toggle("with-drawer", open);
    const toggle = document.getElementById("tool-exercise");
    toggle?.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const kinds = KINDS[s.lab];
    otherLab.hidden = Boolean(kinds);
    body.hidden = !kinds;
    seedLabel.textContent = t("ex.seed", { seed: s.ex });
    if (!kinds) return;
    const key = `${s.lab}:${s.ex}:${s.exk}`;
    if (key === renderedKey) return;
    renderedKey = key;
    kindSelect.replaceChildren(
      el("option", { value: "" }, t("ex.kind.any")),
      ...kinds.map((k) => el("option", { value: k }, t(`ex.kind.${k}`))),
    );
    kindSelect.value = kinds.includes(s.exk) ? s.exk : "";
    current = makeExercise(s.lab, s.ex, s.exk);
    question.textContent = current.question;
    renderFigures(current, false);
    answer.value = "";
    answer.removeAttribute("aria-invalid");
    feedback.textContent = "";
    feedback.className = "exercise-feedback";
    workingBox.hidden = true;
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!current) return;
    const verdict = check(current, answer.value);
    if (verdict === null) {
      feedback.textContent = t("ex.notANumber");
      feedback.className = "exercise-feedback warn";
      answer.setAttribute("aria-invalid", "true");
      answer.focus();
      return;
    }
    answer.removeAttribute("aria-invalid");
    const vars = { given: answer.value.trim(), answer: formatAnswer(current.answer) };
    feedback.textContent = t(verdict ? "ex.right" : "ex.wrong", vars);
    feedback.className = `exercise-feedback ${verdict ? "ok" : "bad"}`;
    feedback.dataset.verdict = verdict ? "right" : "wrong";
    showWorking(current);
  });
  revealButton.addEventListener("click", () => {
    if (!current) return;
    feedback.textContent = t("ex.revealed", { answer: formatAnswer(current.answer) });
    feedback.className = "exercise-feedback";
    feedback.dataset.verdict = "revealed";
    showWorking(current);
  });
  kindSelect.addEventListener("change", () => state.set({ exk: kindSelect.value }));
  drawer.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      state.set({ ex: "" });
      document.getElementById("tool-exercise")?.focus();
    }
  });

  state.subscribe((s, changed) => {
    if (changed.some((k) => k === "ex" || k === "exk" || k === "lab")) render(s);
  });
  render(state.get());

  return {
    toggle() {
      const s = state.get();
      if (s.ex) state.set({ ex: "" });
      else {
        state.set({ ex: freshSeed() }, { history: true });
        requestAnimationFrame(() => (body.hidden ? otherLab.querySelector("button") : answer)?.focus());
      }
    },
  };
}
