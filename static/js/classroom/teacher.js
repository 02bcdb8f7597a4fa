// Teacher links: `lock`, `hide` and `caption` URL fields that disable or hide the
// controls with those data-testids (in any lab, whenever they are rendered) and
// show a caption banner as plain text; plus the dialog that composes such links.

import * as state from "../state.js";
import { el } from "../ui.js";
import { t } from "../strings.js";
import { copyButton, idList, makeDialog } from "./dialog.js";

export const CAPTION_MAX = 280;

export const FIELDS = [
  { name: "lock", def: "" },
  { name: "hide", def: "" },
  { name: "caption", def: "", parse: (s) => String(s).slice(0, CAPTION_MAX) },
];

const CONTROL = "input, select, textarea, button, [contenteditable='true']";
const byTestId = (id) => document.querySelectorAll(`[data-testid="${CSS.escape(id)}"]`);
const outsideClassroom = (node) => !node.closest("[data-classroom-ui]");

/** Disable every control in `node` (or node itself); remember which ones we disabled. */
function lockNode(node) {
  node.classList.add("teacher-locked");
  node.setAttribute("data-teacher-lock", "1");
  if (!node.title) {
    node.title = t("teacher.locked");
    node.setAttribute("data-teacher-title", "1");
  }
  const controls = node.matches(CONTROL) ? [node] : [...node.querySelectorAll(CONTROL)];
  if (!controls.length) node.setAttribute("aria-disabled", "true");
  for (const c of controls) {
    if (c.isContentEditable) {
      c.setAttribute("contenteditable", "false");
      c.setAttribute("data-teacher-disabled", "ce");
    } else if (!c.disabled) {
      c.disabled = true;
      c.setAttribute("data-teacher-disabled", "1");
    }
  }
}

function unlockNode(node) {
  node.classList.remove("teacher-locked");
  node.removeAttribute("data-teacher-lock");
  node.removeAttribute("aria-disabled");
  if (node.hasAttribute("data-teacher-title")) {
    node.removeAttribute("title");
    node.removeAttribute("data-teacher-title");
  }
  const controls = [node, ...node.querySelectorAll("[data-teacher-disabled]")];
  for (const c of controls) {
    const how = c.getAttribute("data-teacher-disabled");
    if (how === "ce") c.setAttribute("contenteditable", "true");
    else if (how === "1") c.disabled = false;
    c.removeAttribute("data-teacher-disabled");
  }
}

/** Hide node, its <label for>, and its .row when everything in the row is hidden. */
function hideNode(node, hidden) {
  node.classList.add("teacher-hidden");
  node.setAttribute("data-teacher-hide", "1");
  const extra = [];
  if (node.id) extra.push(...document.querySelectorAll(`label[for="${CSS.escape(node.id)}"]`));
  const row = node.closest(".row");
  if (row) {
    const others = [...row.querySelectorAll(`${CONTROL}, [data-testid]`)].filter(
      (c) => c !== node && !node.contains(c) && !hidden.has(c.dataset.testid ?? "") && !c.closest(".teacher-hidden"),
    );
    if (!others.length) extra.push(row);
  }
  for (const e of extra) {
    e.classList.add("teacher-hidden");
    e.setAttribute("data-teacher-hide", "1");
  }
}

export function mountTeacher() {
  const banner = document.getElementById("caption-banner");
  const bannerText = banner.querySelector("[data-caption-text]");
  let applied = { lock: "", hide: "" };
  let scheduled = false;

  function apply() {
    scheduled = false;
    const s = state.get();
    const lock = new Set(idList(s.lock));
    const hide = new Set(idList(s.hide));
    // Undo what no longer applies (the URL changed), then (re)apply: labs re-render their controls.
    for (const node of document.querySelectorAll("[data-teacher-lock]")) {
      if (!lock.has(node.dataset.testid)) unlockNode(node);
    }
    for (const node of document.querySelectorAll("[data-teacher-hide]")) {
      node.classList.remove("teacher-hidden");
      node.removeAttribute("data-teacher-hide");
    }
    for (const id of lock) for (const node of byTestId(id)) if (outsideClassroom(node)) lockNode(node);
    for (const id of hide) for (const node of byTestId(id)) if (outsideClassroom(node)) hideNode(node, hide);
    applied = { lock: s.lock, hide: s.hide };
  }

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(apply);
  };

  function renderCaption(caption) {
    const text = String(caption || "").trim().slice(0, CAPTION_MAX);
    bannerText.textContent = text; // text only, never HTML
    banner.hidden = !text;
  }

  // Labs render controls lazily and may re-enable them: re-apply after DOM changes.
  new MutationObserver((records) => {
    if (!state.get().lock && !state.get().hide && !applied.lock && !applied.hide) return;
    const reenabled = (r) => r.target.hasAttribute?.("data-teacher-disabled") && !r.target.disabled;
    if (records.some((r) => r.type === "childList" || reenabled(r))) schedule();
  }).observe(document.getElementById("main"), { childList: true, subtree: true, attributes: true, attributeFilter: ["disabled"] });

  state.subscribe((s, changed) => {
    if (changed.some((k) => k === "lock" || k === "hide" || k === "lab")) schedule();
    if (changed.includes("caption")) renderCaption(s.caption);
  });
  renderCaption(state.get().caption);
  apply();

  const builder = mountBuilder();
  return { apply, openBuilder: builder.open, builder };
}

/** "camera-toggle" -> "Camera toggle": the last resort for a control with no label at all. */
const humanise = (id) => id.replace(/[-_.]+/g, " ").replace(/^\w/, (c) => c.toUpperCase());

/**
 * A readable name for a control, as a teacher sees it on the page: its <label>, its
 * aria-label, a button's own text, the label around it, its title, or the label of its
 * row — never the label of a neighbour (a button in the ReLU row is not "ReLU").
 */
export function labelOf(node) {
  const clean = (text) => String(text || "").replace(/\s+/g, " ").trim();
  const own = node.id && document.querySelector(`label[for="${CSS.escape(node.id)}"]`);
  const isButton = node.matches("button, summary, [role='button'], [role='tab']");
  const text = clean(own?.textContent) || clean(node.getAttribute("aria-label")) ||
    (isButton ? clean(node.textContent) : "") || clean(node.closest("label")?.textContent) || clean(node.getAttribute("title")) ||
    (!isButton && node.matches("input, select, textarea") ? clean(node.closest(".row")?.querySelector(":scope > label:first-child, :scope > .label")?.textContent) : "") ||
    humanise(node.dataset.testid || "");
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

const IS_CONTROL = `${CONTROL}, fieldset, [role='radiogroup'], [role='group']`;

/**
 * The lockable controls of the active lab (and the shared picker inside it), by
 * data-testid, with human labels. A control inside another listed control (a kernel
 * cell inside the kernel grid) is locked with it, so it gets no row of its own.
 */
export function controlsOfLab(lab) {
  const section = document.querySelector(`[data-lab-section="${lab}"]`);
  if (!section) return [];
  const seen = new Map();
  const isControl = (node) => node.matches(IS_CONTROL) || node.querySelector(CONTROL);
  for (const node of section.querySelectorAll("[data-testid]")) {
    const id = node.dataset.testid;
    if (seen.has(id) || !outsideClassroom(node)) continue;
    if (!isControl(node) || /^(feature-map|nav-)/.test(id)) continue;
    const outer = node.parentElement?.closest("[data-testid]");
    if (outer && section.contains(outer) && isControl(outer)) continue;
    seen.set(id, labelOf(node));
  }
  return [...seen].map(([id, label]) => ({ id, label }));
}

function mountBuilder() {
  const ui = makeDialog({
    title: t("teacher.dialogTitle"),
    testid: "teacher-dialog",
    onClose: () => state.get().tool === "teacher" && state.set({ tool: "" }),
  });
  const tableBody = el("tbody");
  const caption = el("textarea", { id: "teacher-caption", rows: 2, maxlength: CAPTION_MAX, "data-testid": "teacher-caption" });
  const urlField = el("input", { type: "text", id: "teacher-url", readonly: true, "data-testid": "teacher-url", class: "cl-url" });
  const openLink = el("a", { href: "#", target: "_blank", rel: "noopener", "data-testid": "teacher-open" }, t("teacher.open"));
  const status = el("p", { class: "hint", role: "status", "aria-live": "polite" });
  const empty = el("p", { class: "hint" }, t("teacher.noControls"));

  ui.body.append(
    el("p", { class: "hint" }, t("teacher.intro")),
    empty,
    el("div", { class: "cl-scroll" },
      el("table", { class: "numbers teacher-table", "data-testid": "teacher-controls" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("teacher.control")), el("th", { scope: "col" }, t("teacher.lock")),
          el("th", { scope: "col" }, t("teacher.hide")))),
        tableBody)),
    el("label", { for: "teacher-caption", class: "cl-label" }, t("teacher.captionField", { max: CAPTION_MAX })),
    caption,
    el("label", { for: "teacher-url", class: "cl-label" }, t("teacher.link")),
    el("div", { class: "row" }, urlField, copyButton(() => urlField.value, { testid: "teacher-copy", statusEl: status, field: urlField }), openLink),
    status,
    el("p", {}, el("a", { href: "/lessons" }, t("teacher.galleryLink"))),
  );

  function compose() {
    const lock = [...tableBody.querySelectorAll("input[data-kind='lock']:checked")].map((c) => c.value);
    const hide = [...tableBody.querySelectorAll("input[data-kind='hide']:checked")].map((c) => c.value);
    const s = { ...state.get(), lock: lock.join(","), hide: hide.join(","), caption: caption.value.trim().slice(0, CAPTION_MAX), tool: "", embed: false };
    const url = `${location.origin}${location.pathname}#${state.encode(s)}`;
    urlField.value = url;
    openLink.href = url;
  }

  function render() {
    const s = state.get();
    const lock = new Set(idList(s.lock));
    const hide = new Set(idList(s.hide));
    const controls = controlsOfLab(s.lab);
    empty.hidden = controls.length > 0;
    tableBody.replaceChildren(
      ...controls.map(({ id, label }) => {
        const name = label || humanise(id);
        const box = (kind, on) => el("input", {
          type: "checkbox", value: id, "data-kind": kind, checked: on, "data-testid": `teacher-${kind}-${id}`,
          "aria-label": `${t(kind === "lock" ? "teacher.lock" : "teacher.hide")}: ${name}`, onchange: compose,
        });
        return el("tr", {}, el("th", { scope: "row", title: id }, name), el("td", {}, box("lock", lock.has(id))), el("td", {}, box("hide", hide.has(id))));
      }),
    );
    caption.value = s.caption;
    compose();
  }

  caption.addEventListener("input", compose);
  return {
    open() {
      render();
      ui.open();
    },
    close: ui.close,
    isOpen: ui.isOpen,
  };
}
