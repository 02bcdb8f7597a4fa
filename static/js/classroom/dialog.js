// A modal dialog built on <dialog>: focus is trapped and restored by the browser,
// Escape closes it. Every classroom dialog is one of these.

import { el } from "../ui.js";
import { t } from "../strings.js";

let counter = 0;

/**
 * makeDialog({title, testid, onClose}) -> {dialog, body, open(), close(), isOpen()}
 * The dialog is appended to <body>; `body` is where the caller puts its content.
 */
export function makeDialog({ title, testid, onClose = null, wide = false }) {
  const id = `cl-dialog-${++counter}`;
  const heading = el("h2", { id: `${id}-title`, class: "cl-dialog-title" }, title);
  const closeButton = el("button", { type: "button", class: "cl-dialog-close", "data-testid": `${testid}-close` }, t("dialog.close"));
  const body = el("div", { class: "cl-dialog-body" });
  const dialog = el(
    "dialog",
    { id, class: `cl-dialog${wide ? " wide" : ""}`, "aria-labelledby": heading.id, "data-testid": testid, "data-classroom-ui": "1" },
    el("div", { class: "cl-dialog-head" }, heading, closeButton),
    body,
  );
  document.body.append(dialog);
  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => onClose?.());
  // A click on the backdrop (outside the box) closes the dialog too.
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) {
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) dialog.close();
    }
  });
  return {
    dialog,
    body,
    open() {
      if (!dialog.open) dialog.showModal();
    },
    close() {
      if (dialog.open) dialog.close();
    },
    isOpen: () => dialog.open,
  };
}

/** Copy text to the clipboard; falls back to selecting `field` so the user can press Ctrl+C. */
export async function copyText(text, field = null) {
  try {
    await navigator.clipboard.writeText(text);
    return t("dialog.copied");
  } catch {
    if (field) {
      field.focus();
      field.select?.();
    }
    return t("dialog.copyFailed");
  }
}

/** A "Copy" button that copies getText() and reports the outcome in `statusEl`. */
export function copyButton(getText, { testid, statusEl, field = null, label = t("dialog.copy") }) {
  return el("button", {
    type: "button",
    "data-testid": testid,
    onclick: async () => {
      const message = await copyText(getText(), field);
      if (statusEl) statusEl.textContent = message;
    },
  }, label);
}

/** "a,b , c" -> ["a", "b", "c"]: the data-testid list of a teacher-link field (safe names only). */
export function idList(text) {
  return String(text || "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^[\w.-]{1,60}$/.test(s));
}
