// The input picker: built-in samples, upload by picker / drag-and-drop / paste,
// gray or RGB, maximum side, live camera. One instance on the page, moved into the active
// lab's `[data-input-slot]`; it writes `image`, `color` and `maxSide` to state.

import * as image from "../image.js";
import * as state from "../state.js";
import { clearError, notify, reportError } from "../ui.js";
import { mountCamera } from "../classroom/camera.js";
import { t } from "../strings.js";

export function mountImagePicker(ctx) {
  const root = document.getElementById("image-picker");
  const select = document.getElementById("sample-select");
  const fileInput = document.getElementById("image-upload");
  const maxSide = document.getElementById("max-side");
  const meta = document.getElementById("image-meta");
  const colorRadios = [...root.querySelectorAll('input[name="color"]')];
  let samples = [];
  image.setMaxSide(state.get().maxSide); // before any lab asks for pixels
  const uploadedOption = document.createElement("option");
  uploadedOption.value = "";
  uploadedOption.textContent = t("picker.uploaded");

  const camera = mountCamera(ctx, {
    button: document.getElementById("camera-toggle"),
    video: document.getElementById("camera-preview"),
    statusEl: document.getElementById("camera-status"),
  });

  async function handleFile(file) {
    if (!file) return;
    camera.stop();
    notify(t("picker.uploading", { name: file.name || "image" }), 0);
    try {
      const info = await image.upload(file);
      clearError();
      ctx.setImageInfo(info); // before the state change, so every view sees the new size
      // A gray image has one channel: "RGB" would be three copies of it, so the colour
      // follows the image in the same change (every lab sees one consistent state).
      state.set({ image: info.id, ...colorFor(info) }, { history: true });
      notify(t("picker.loaded", { name: file.name || "image", w: info.width, h: info.height,
        kind: t(info.channels === 1 ? "picker.gray" : "picker.colour") }));
    } catch (err) {
      notify("");
      reportError(err);
    }
  }

  fileInput.addEventListener("change", () => {
    handleFile(fileInput.files[0]);
    fileInput.value = "";
  });
  select.addEventListener("change", () => {
    if (!select.value) return;
    camera.stop();
    const sample = samples.find((x) => x.id === select.value);
    if (sample) ctx.setImageInfo(sample);
    state.set({ image: select.value, ...colorFor(sample) }, { history: true });
  });
  maxSide.addEventListener("change", () => state.set({ maxSide: Number(maxSide.value) }));

  /** {color: "gray"} when RGB is chosen for a one-channel image, else nothing to change. */
  function colorFor(info) {
    return info && info.channels === 1 && state.get().color === "rgb" ? { color: "gray" } : {};
  }
  for (const radio of colorRadios) radio.addEventListener("change", () => state.set({ color: radio.value }));

  // Drop anywhere on the page, paste anywhere (except into text fields).
  document.addEventListener("dragover", (e) => {
    if ([...(e.dataTransfer?.types || [])].includes("Files")) {
      e.preventDefault();
      document.body.classList.add("dropping");
    }
  });
  document.addEventListener("dragleave", (e) => {
    if (e.target === document.documentElement || e.clientX <= 0 || e.clientY <= 0) document.body.classList.remove("dropping");
  });
  document.addEventListener("drop", (e) => {
    const file = image.imageFromTransfer(e.dataTransfer);
    document.body.classList.remove("dropping");
    if (file) {
      e.preventDefault();
      handleFile(file);
    }
  });
  document.addEventListener("paste", (e) => {
    const target = e.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    const file = image.imageFromTransfer(e.clipboardData);
    if (file) {
      e.preventDefault();
      handleFile(file);
    }
  });

  let metaKey = "";
  function render(s) {
    image.setMaxSide(s.maxSide);
    const known = samples.some((x) => x.id === s.image);
    if (!known && !uploadedOption.isConnected) select.append(uploadedOption);
    if (known && uploadedOption.isConnected) uploadedOption.remove();
    select.value = known ? s.image : "";
    maxSide.value = String(s.maxSide);
    // A sample chosen through the URL (a link, back/forward) brings its own size.
    const sample = samples.find((x) => x.id === s.image);
    if (sample && ctx.imageInfo()?.id !== s.image) ctx.setImageInfo(sample);
    const info = ctx.imageInfo()?.id === s.image ? ctx.imageInfo() : null;
    for (const radio of colorRadios) radio.checked = radio.value === s.color;
    renderMeta(s, info);
  }

  /** The info line: the size the labs compute at (H × W, as every lab writes it), shrunk or not. */
  function renderMeta(s, info) {
    const key = `${s.image}|${s.color}|${s.maxSide}|${info ? `${info.width}x${info.height}x${info.channels}` : ""}`;
    if (key === metaKey) return;
    metaKey = key;
    if (!info) {
      meta.textContent = "";
      return;
    }
    const line = (used) => t(used.width === info.width && used.height === info.height ? "picker.meta" : "picker.metaShrunk", {
      h: used.height, w: used.width, h0: info.height, w0: info.width,
      kind: t(info.channels === 1 ? "picker.graySource" : "picker.rgbSource"),
      // What the labs compute on, as the header says it: RGB of a gray image is three equal channels.
      mode: t(s.color !== "rgb" ? "picker.usedGray" : info.channels === 3 ? "picker.usedRgb" : "picker.usedRgbOfGray"),
    });
    meta.textContent = line(info);
    if (Math.max(info.width, info.height) > s.maxSide) {
      image.effectiveInfo(s.image, s.maxSide).then((used) => {
        if (metaKey === key) meta.textContent = line(used);
      }, () => {});
    }
  }

  image
    .listSamples()
    .then((list) => {
      samples = list;
      select.replaceChildren(
        ...list.map((s) => {
          const option = document.createElement("option");
          option.value = s.id;
          option.textContent = s.name;
          return option;
        }),
      );
      const current = list.find((s) => s.id === state.get().image);
      if (current) ctx.setImageInfo(current);
      render(state.get());
    })
    .catch(reportError);

  state.subscribe((s) => render(s));
  return {
    /** Move the picker into `slot` (the active lab's input column). */
    attach(slot) {
      if (slot && root.parentElement !== slot) slot.prepend(root);
    },
    samples: () => samples,
    camera,
  };
}
