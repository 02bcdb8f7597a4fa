// Boot: register state, mount the shared input picker and the active lab, switch labs,
// presentation mode, share link. Only this module and state.js touch the URL.
//
// A lab is an ES module in ./labs/ exporting
//   FIELDS: [{name, def, parse?, format?}]       its state fields (names prefixed, e.g. "pool.k")
//   mount(root, ctx) -> {activate(), deactivate(), update(state, changed)}
// where ctx = {state, image, imageInfo(), setImageInfo(info), picker}. Every lab module is
// imported at boot (so all state fields are known), but a lab's view is mounted only when
// it is first shown. A lab that fails to load shows a message in its own section; the
// other labs keep working.

import * as image from "./image.js";
import * as state from "./state.js";
import { t } from "./strings.js";
import { UNREACHABLE } from "./api.js";
import { clearError, notify, reportError, showError } from "./ui.js";
import { mountImagePicker } from "./widgets/image-picker.js";
import { mountResetLab } from "./widgets/reset-lab.js";

const LABS = ["conv", "pool", "backward", "network", "equivariance", "train", "inside", "family"];

state.registerFields([
  { name: "lab", def: "conv" },
  { name: "image", def: "sample-square" },
  { name: "color", def: "gray" },
  { name: "maxSide", def: 512 },
  { name: "present", def: false },
]);

let currentInfo = null;
const ctx = {
  state,
  image,
  imageInfo: () => currentInfo,
  setImageInfo(info) {
    currentInfo = info;
  },
  picker: null,
};

const modules = new Map(); // lab -> imported module
const mounted = new Map(); // lab -> controller, once its view has been built

function sectionOf(lab) {
  return document.querySelector(`[data-lab-section="${lab}"]`);
}

function labFailed(lab, err) {
  console.error(`lab ${lab} failed to load`, err);
  const p = document.createElement("p");
  p.className = "lab-failed";
  p.textContent = t("shell.labFailed", { message: err.message });
  sectionOf(lab).prepend(p);
}

/** Import a lab's module and register its state fields (cheap: no DOM, no requests). */
async function importLab(lab) {
  try {
    const module = await import(`./labs/${lab}.js`);
    if (module.FIELDS) state.registerFields(module.FIELDS);
    modules.set(lab, module);
  } catch (err) {
    labFailed(lab, err);
  }
}

/** Build a lab's view the first time it is shown, so a page boots with only one lab's work. */
function ensureMounted(lab) {
  if (mounted.has(lab) || !modules.has(lab)) return mounted.get(lab) || null;
  try {
    const module = modules.get(lab);
    const tools = sectionOf(lab).querySelector("[data-lab-tools]");
    if (tools && module.FIELDS) mountResetLab(tools, { state, lab, fields: module.FIELDS });
    mounted.set(lab, module.mount(sectionOf(lab), ctx));
  } catch (err) {
    modules.delete(lab);
    labFailed(lab, err);
    return null;
  }
  return mounted.get(lab);
}

function showLab(lab) {
  if (!LABS.includes(lab)) lab = "conv";
  for (const name of LABS) {
    const active = name === lab;
    sectionOf(name).hidden = !active;
    const button = document.querySelector(`[data-lab="${name}"]`);
    button.setAttribute("aria-current", active ? "page" : "false");
    const controller = active ? ensureMounted(name) : mounted.get(name);
    if (!controller) continue;
    if (active) {
      ctx.picker.attach(sectionOf(name).querySelector("[data-input-slot]"));
      controller.activate?.(state.get());
    } else {
      controller.deactivate?.();
    }
  }
}

/**
 * The share link, shown in a box a student can select and copy by hand (the clipboard
 * may be refused); the box follows the state while it is open.
 */
function mountShareBox() {
  const box = document.getElementById("share-box");
  const field = document.getElementById("share-url");
  const status = document.getElementById("share-status");
  const show = () => {
    field.value = state.shareUrl();
  };
  document.getElementById("share-link").addEventListener("click", async () => {
    state.flush();
    show();
    box.hidden = false;
    field.focus();
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = t("shell.linkCopied");
    } catch {
      status.textContent = t("shell.linkCopyByHand");
    }
  });
  document.getElementById("share-close").addEventListener("click", () => {
    box.hidden = true;
  });
  field.addEventListener("focus", () => field.select());
  state.subscribe(() => {
    if (!box.hidden) {
      show();
      status.textContent = t("shell.linkUpdated");
    }
  });
}

/** Say which URL values were out of range or unusable (state.js changed them), and fix the URL. */
function reportUrlProblems() {
  const problems = state.takeWarnings();
  if (!problems.length) return;
  const shown = problems.slice(0, 4).map((p) => `${p.name}=${p.raw || "(empty)"}: ${p.problem}, using ${JSON.stringify(p.value)}`);
  const more = problems.length > 4 ? ` and ${problems.length - 4} more` : "";
  notify(`The link had values this page cannot use. ${shown.join("; ")}${more}.`, 15000);
  state.flush();
}

function applyPresent(on) {
  document.documentElement.classList.toggle("present", on);
  document.getElementById("present-toggle").setAttribute("aria-pressed", String(on));
}

async function boot() {
  ctx.picker = mountImagePicker(ctx);
  await Promise.all(LABS.map(importLab));
  // Classroom tools (teacher links, exercises, code export, learn-a-filter): page-wide,
  // isolated so a failure there leaves the labs working.
  try {
    const classroom = await import("./classroom/index.js");
    classroom.mountClassroom(ctx);
  } catch (err) {
    console.error("classroom tools failed to load", err);
    showError(t("shell.classroomFailed", { message: err.message }));
  }
  // Labs registered their fields after the first read; re-read so their URL values apply.
  state.readFromUrl();
  reportUrlProblems();

  for (const button of document.querySelectorAll(".labs-nav [data-lab]")) {
    button.addEventListener("click", () => state.set({ lab: button.dataset.lab }, { history: true }));
  }
  document.getElementById("present-toggle").addEventListener("click", () => state.set({ present: !state.get().present }));
  mountShareBox();
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName) || e.target.isContentEditable;
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "p" || e.key === "P") state.set({ present: !state.get().present });
  });
  // The server came back after a restart (api.js polls while it is away): recompute the lab.
  window.addEventListener("convlab:server-back", () => {
    if (document.getElementById("error").textContent === UNREACHABLE) clearError();
    notify("The server is back; recomputing.");
    const s = state.get();
    mounted.get(s.lab)?.update?.(s, Object.keys(s));
  });
  window.addEventListener("hashchange", () => {
    state.readFromUrl();
    reportUrlProblems();
  });
  window.addEventListener("popstate", () => {
    state.readFromUrl();
    reportUrlProblems();
  });

  state.subscribe((s, changed) => {
    if (changed.includes("lab")) showLab(s.lab);
    if (changed.includes("present")) applyPresent(s.present);
    for (const [lab, controller] of mounted) {
      if (lab === s.lab) controller.update?.(s, changed);
    }
  });

  applyPresent(state.get().present);
  showLab(state.get().lab);
  mounted.get(state.get().lab)?.update?.(state.get(), Object.keys(state.get()));
  document.body.dataset.ready = "1";
}

window.addEventListener("unhandledrejection", (e) => {
  if (e.reason && e.reason.superseded) {
    e.preventDefault();
    return;
  }
  reportError(e.reason);
});

boot().catch((err) => showError(t("shell.couldNotStart", { message: err.message })));
