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
      const info = await image.upload(file, { maxSide: state.get().maxSide });
      clearError();
      ctx.setImageInfo(info); // before the state change, so every view sees the new size
      state.set({ image: info.id }, { history: true });
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
    state.set({ image: select.value }, { history: true });
  });
  maxSide.addEventListener("change", () => state.set({ maxSide: Number(maxSide.value) }));
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

  function render(s) {
    const known = samples.some((x) => x.id === s.image);
    if (!known && !uploadedOption.isConnected) select.append(uploadedOption);
    if (known && uploadedOption.isConnected) uploadedOption.remove();
    select.value = known ? s.image : "";
    maxSide.value = String(s.maxSide);
    for (const radio of colorRadios) radio.checked = radio.value === s.color;
    // A sample chosen through the URL (a link, back/forward) brings its own size.
    const sample = samples.find((x) => x.id === s.image);
    if (sample && ctx.imageInfo()?.id !== s.image) ctx.setImageInfo(sample);
    const info = ctx.imageInfo();
    meta.textContent = info
      ? t("picker.meta", {
          w: info.width,
          h: info.height,
          kind: t(info.channels === 1 ? "picker.graySource" : "picker.rgbSource"),
          mode: t(s.color === "rgb" && info.channels === 3 ? "picker.usedRgb" : "picker.usedGray"),
        })
      : "";
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
