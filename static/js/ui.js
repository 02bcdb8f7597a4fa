// Page-wide messages and the hover tooltip. Text only: user-provided strings are
// never inserted as HTML.

const errorEl = () => document.getElementById("error");
const noticeEl = () => document.getElementById("notice");
let noticeTimer = null;

/** Show a message a person can act on in the `error` area (the rest of the page keeps working). */
export function showError(message) {
  const el = errorEl();
  el.textContent = message;
  el.hidden = false;
}

/**
 * A channel picker for a C-channel input: hidden for one channel, else one option per
 * channel (R, G, B for colour), `chosen` clamped to the last.
 */
export function renderChannelPick(pick, select, C, chosen) {
  pick.hidden = C <= 1;
  if (select.options.length !== C) {
    select.replaceChildren(...Array.from({ length: C }, (_, c) => el("option", { value: String(c) }, ["R", "G", "B"][c] ?? String(c))));
  }
  select.value = String(Math.min(chosen, C - 1));
}

export function clearError() {
  const el = errorEl();
  el.textContent = "";
  el.hidden = true;
}

/** A short polite status line (screen readers announce it), cleared after `ms`. */
export function notify(message, ms = 4000) {
  const el = noticeEl();
  el.textContent = message;
  clearTimeout(noticeTimer);
  if (ms) noticeTimer = setTimeout(() => (el.textContent = ""), ms);
}

/** Report an error from the api module, ignoring superseded requests. Returns true if shown. */
export function reportError(err) {
  if (err && err.superseded) return false;
  console.error(err);
  showError(err && err.detail ? err.detail : String(err && err.message ? err.message : err));
  return true;
}

/** Show the tooltip near the pointer with the given lines of text. */
export function showTooltip(event, lines) {
  const tip = document.getElementById("tooltip");
  tip.replaceChildren(
    ...lines.map((line) => {
      const div = document.createElement("div");
      div.textContent = line;
      return div;
    }),
  );
  tip.hidden = false;
  const pad = 14;
  let x = event.clientX + pad;
  let y = event.clientY + pad;
  const rect = tip.getBoundingClientRect();
  if (x + rect.width > window.innerWidth) x = event.clientX - rect.width - pad;
  if (y + rect.height > window.innerHeight) y = event.clientY - rect.height - pad;
  tip.style.left = `${x}px`;
  tip.style.top = `${y}px`;
}

export function hideTooltip() {
  document.getElementById("tooltip").hidden = true;
}

/** Create an element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Call fn at most once per animation frame with the latest arguments (for slider drags). */
export function coalesce(fn) {
  let pending = null;
  return (...args) => {
    const first = pending === null;
    pending = args;
    if (first) {
      requestAnimationFrame(() => {
        const latest = pending;
        pending = null;
        fn(...latest);
      });
    }
  };
}
