// Live camera input for the image picker: with permission, grab a frame at most
// twice a second, downscale it, upload it and make it the current image. Without a
// camera (or permission) the page says why and keeps working.

import { request } from "../api.js";
import * as state from "../state.js";
import { notify, reportError } from "../ui.js";
import { t } from "../strings.js";

export const FRAME_INTERVAL_MS = 500; // ≤ 2 frames per second reach the server
export const CAMERA_MAX_SIDE = 160; // frames are downscaled to at most this side (and the picker's max side)

function messageFor(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return t("camera.denied");
    case "NotFoundError":
    case "OverconstrainedError":
      return t("camera.none");
    case "NotReadableError":
    case "AbortError":
      return t("camera.busy");
    default:
      return t("camera.failed", { message: err?.message || String(err) });
  }
}

/**
 * Wire the camera button, preview and status line of the picker.
 * ctx.setImageInfo(info) is told about each frame, like an upload.
 */
export function mountCamera(ctx, { button, video, statusEl }) {
  let stream = null;
  let timer = null;
  let busy = false;
  let sent = 0;
  let startedAt = 0;
  const canvas = document.createElement("canvas");

  function say(message, kind = "") {
    statusEl.textContent = message;
    statusEl.dataset.kind = kind;
    statusEl.hidden = !message;
  }

  function setRunning(on) {
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? t("camera.stop") : t("camera.start");
    video.hidden = !on;
  }

  async function grab() {
    if (busy || !stream || video.readyState < 2 || !video.videoWidth) return;
    busy = true;
    try {
      const side = Math.min(CAMERA_MAX_SIDE, state.get().maxSide || CAMERA_MAX_SIDE);
      const scale = Math.min(1, side / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
      canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
      if (!blob || !stream) return;
      const form = new FormData();
      form.append("file", blob, "camera.png");
      // Posted directly (not through image.upload) so frames are not kept for re-upload.
      const info = await request(`/api/images?max_side=${side}&color=auto`, { method: "POST", body: form, key: "camera-frame" });
      if (!stream) return;
      sent += 1;
      ctx.setImageInfo({ ...info, name: "camera" });
      state.set({ image: info.id });
      const fps = (sent / Math.max(1, (performance.now() - startedAt) / 1000)).toFixed(1);
      say(t("camera.live", { w: info.width, h: info.height, fps }), "live");
      statusEl.dataset.frames = String(sent);
    } catch (err) {
      if (!err?.superseded) {
        stop();
        reportError(err);
      }
    } finally {
      busy = false;
    }
  }

  async function start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      say(t("camera.unsupported"), "error");
      notify(t("camera.unsupported"), 8000);
      return;
    }
    say(t("camera.starting"));
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (err) {
      stream = null;
      const message = messageFor(err);
      say(message, "error");
      notify(message, 8000);
      setRunning(false);
      return;
    }
    video.srcObject = stream;
    video.muted = true;
    setRunning(true);
    await video.play().catch(() => {});
    sent = 0;
    startedAt = performance.now();
    timer = setInterval(grab, FRAME_INTERVAL_MS);
    grab();
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    const wasOn = Boolean(stream);
    stream = null;
    video.srcObject = null;
    setRunning(false);
    if (wasOn) say(t("camera.stopped"));
  }

  button.addEventListener("click", () => (stream ? stop() : start()));
  document.addEventListener("visibilitychange", () => document.hidden && stop());
  setRunning(false);
  return { start, stop, running: () => Boolean(stream) };
}
