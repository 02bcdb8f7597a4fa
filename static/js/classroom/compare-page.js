// The comparison page: two same-origin frames of the explorer, each in `embed` mode
// with its own URL state, both on side A's image. The settings that differ are
// listed (and outlined inside both frames); the page's own URL holds both states.

import { t } from "../strings.js";
import { el } from "../ui.js";
import { copyText } from "./dialog.js";

// Fields that describe the classroom wrapper, not the lab's configuration.
const IGNORED = new Set(["embed", "lock", "hide", "caption", "ex", "exk", "tool", "present"]);
// Field name (last segment) -> data-testid of the control that sets it, where they differ.
const CONTROL_OF = { k: "kernel-size", pad: "padding", dil: "dilation", mode: "padding-mode", filters: "kernel-preset",
  image: "sample-select", color: "color-gray", maxSide: "max-side" };
const DEFAULT_B = "lab=conv&conv.stride=2";

const frames = { a: document.getElementById("compare-a"), b: document.getElementById("compare-b") };
const states = { a: "", b: "" };
const labNames = { conv: "Convolution", pool: "Pooling", backward: "Backward", network: "Network",
  equivariance: "Equivariance", train: "Train", family: "More" };

function readPage() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const a = params.get("a") || "lab=conv";
  let b = params.get("b") || DEFAULT_B;
  return { a, b, caption: (params.get("caption") || "").slice(0, 280) };
}

const parse = (fragment) => new URLSearchParams(String(fragment).replace(/^#/, ""));

/** B always shows A's image (and colour and size), so the two sides differ only in the lab's settings. */
function withImageOf(a, b) {
  const pa = parse(a);
  const pb = parse(b);
  for (const key of ["image", "color", "maxSide"]) {
    if (pa.has(key)) pb.set(key, pa.get(key));
    else pb.delete(key);
  }
  pb.set("lab", pa.get("lab") || "conv");
  return pb;
}

function frameUrl(fragment) {
  const p = parse(fragment);
  p.set("embed", "1");
  for (const key of ["lock", "hide", "ex", "tool"]) p.delete(key);
  return `/#${p.toString()}`;
}

const clean = (fragment) => {
  const p = parse(fragment);
  for (const key of IGNORED) p.delete(key);
  return p;
};

function differences() {
  const pa = clean(states.a);
  const pb = clean(states.b);
  const keys = [...new Set([...pa.keys(), ...pb.keys()])].filter((k) => k !== "lab").sort();
  return keys.map((key) => ({ key, a: pa.get(key), b: pb.get(key), differs: pa.get(key) !== pb.get(key) }));
}

function renderDiff() {
  const rows = differences();
  const box = document.getElementById("compare-diff");
  const differing = rows.filter((r) => r.differs);
  const show = (v) => (v === null ? t("compare.default") : v);
  if (!differing.length) {
    box.replaceChildren(el("p", { "data-testid": "compare-same" }, t("compare.same")));
  } else {
    box.replaceChildren(el("table", { class: "numbers" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("compare.setting")), el("th", { scope: "col" }, t("compare.a")),
        el("th", { scope: "col" }, t("compare.b")))),
      el("tbody", {}, ...differing.map((r) => el("tr", { class: "differs", "data-testid": `diff-${r.key}` },
        el("th", { scope: "row" }, r.key), el("td", {}, show(r.a)), el("td", {}, show(r.b)))))));
  }
  const label = (side) => {
    const p = clean(states[side]);
    const mine = differing.map((r) => `${r.key} = ${show(p.get(r.key))}`);
    return mine.join(", ");
  };
  document.getElementById("compare-label-a").textContent = label("a");
  document.getElementById("compare-label-b").textContent = label("b");
  for (const side of ["a", "b"]) markControls(frames[side], differing.map((r) => r.key));
}

function markControls(frame, keys) {
  const doc = frame.contentDocument;
  if (!doc?.body) return;
  for (const node of doc.querySelectorAll(".compare-marked")) node.classList.remove("compare-marked");
  for (const key of keys) {
    const last = key.split(".").pop();
    const prefixed = key.replace(/\./g, "-");
    for (const id of new Set([CONTROL_OF[last], last, prefixed].filter(Boolean))) {
      for (const node of doc.querySelectorAll(`[data-testid="${CSS.escape(id)}"]`)) node.classList.add("compare-marked");
    }
  }
}

function writePage() {
  const params = new URLSearchParams({ a: clean(states.a).toString(), b: clean(states.b).toString() });
  const caption = readPage().caption;
  if (caption) params.set("caption", caption);
  history.replaceState(null, "", `#${params.toString()}`);
}

function load() {
  const page = readPage();
  states.a = page.a;
  states.b = withImageOf(page.a, page.b).toString();
  const lab = parse(states.a).get("lab") || "conv";
  const title = t("compare.title", { lab: labNames[lab] || lab });
  document.getElementById("compare-title").textContent = title;
  document.title = `${title} · ConvLab`;
  const caption = document.getElementById("compare-caption");
  caption.textContent = page.caption;
  caption.hidden = !page.caption;
  frames.a.src = frameUrl(states.a);
  frames.b.src = frameUrl(states.b);
  renderDiff();
}

/** Follow knob changes inside the frames (same origin: their hash is readable). */
function poll() {
  let changed = false;
  for (const side of ["a", "b"]) {
    let hash;
    try {
      hash = frames[side].contentWindow.location.hash.replace(/^#/, "");
    } catch {
      continue;
    }
    if (!hash && hash !== "") continue;
    const p = parse(hash);
    p.delete("embed");
    const now = p.toString();
    if (frames[side].contentDocument?.body?.dataset.ready !== "1") continue;
    if (now !== clean(states[side]).toString() && now !== states[side]) {
      states[side] = now;
      changed = true;
      if (side === "a") {
        // Side A picked another image: show it on side B too.
        const next = withImageOf(states.a, states.b).toString();
        if (next !== states.b) {
          states.b = next;
          frames.b.contentWindow.location.hash = parse(frameUrl(next).slice(2)).toString();
        }
      }
    }
  }
  if (changed) {
    renderDiff();
    writePage();
  }
}

document.getElementById("compare-swap").addEventListener("click", () => {
  const params = new URLSearchParams({ a: clean(states.b).toString(), b: clean(states.a).toString() });
  const caption = readPage().caption;
  if (caption) params.set("caption", caption);
  history.replaceState(null, "", `#${params.toString()}`);
  load();
});
document.getElementById("compare-share").addEventListener("click", async () => {
  writePage();
  const message = await copyText(location.href);
  document.getElementById("notice").textContent = message.startsWith(t("dialog.copied")) ? t("compare.shareCopied") : message;
});
for (const side of ["a", "b"]) frames[side].addEventListener("load", () => setTimeout(renderDiff, 300));
window.addEventListener("hashchange", load);

load();
setInterval(poll, 400);
setInterval(() => { for (const side of ["a", "b"]) markControls(frames[side], differences().filter((r) => r.differs).map((r) => r.key)); }, 1500);
