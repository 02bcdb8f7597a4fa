// The current input image, shared by every lab.
//
// Images live on the server under content-addressed ids. Any worker may not have
// one (another worker took the upload, or its cache evicted it); it then answers
// 404 and we upload the same bytes again, which yields the same id, and retry.

import { ApiError, getJSON, request } from "./api.js";

const uploads = new Map(); // id -> {blob, name, maxSide}: what to re-send on a 404
const pixelCache = new Map(); // `${id}:${color}` -> Float32Array with .shape (C, H, W)
const PIXEL_CACHE_SIZE = 6;
let samplesPromise = null;

/** [{id, name, width, height, channels}] of the built-in samples (fetched once). */
export function listSamples() {
  samplesPromise ??= getJSON("/api/samples").catch((err) => {
    samplesPromise = null;
    throw err;
  });
  return samplesPromise;
}

/** Upload a File/Blob; resolves to {id, width, height, channels}. */
export async function upload(blob, { name = blob.name || "image", maxSide = 512 } = {}) {
  const form = new FormData();
  form.append("file", blob, name.replace(/[^\w.\- ]/g, "_").slice(0, 80) || "image");
  form.append("max_side", String(maxSide));
  form.append("color", "auto");
  const info = await request(`/api/images?max_side=${encodeURIComponent(maxSide)}&color=auto`, {
    method: "POST",
    body: form,
  });
  uploads.set(info.id, { blob, name, maxSide });
  return { ...info, name };
}

/** Whether the page could re-send this image if a server lost it. */
export const canReupload = (id) => uploads.has(id);

function isMissingImage(err) {
  return err instanceof ApiError && err.status === 404;
}

// Behind several workers without sticky sessions, the re-upload and the retry may each
// reach a different worker; every re-upload leaves one more worker holding the image.
const MAX_REUPLOADS = 4;

/**
 * Run `fn(id)`; when the server answers 404 for an image we uploaded, upload it
 * again and retry (a few times). Samples are built into every server and never go missing.
 */
export async function withImage(id, fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(id);
    } catch (err) {
      if (!isMissingImage(err) || !uploads.has(id) || attempt >= MAX_REUPLOADS) throw err;
      const { blob, name, maxSide } = uploads.get(id);
      id = (await upload(blob, { name, maxSide })).id;
    }
  }
}

/** The exact float32 pixels of an image, (C, H, W), converted to `color` ("gray" | "rgb"). */
export async function getPixels(id, color) {
  const key = `${id}:${color}`;
  if (pixelCache.has(key)) return pixelCache.get(key);
  const answer = await withImage(id, (imageId) =>
    request(`/api/images/${encodeURIComponent(imageId)}/pixels?color=${encodeURIComponent(color)}`, {
      binary: true,
    }),
  );
  const pixels = answer.arrays.pixels;
  pixelCache.set(key, pixels);
  if (pixelCache.size > PIXEL_CACHE_SIZE) pixelCache.delete(pixelCache.keys().next().value);
  return pixels;
}

/** Image files from a drop or paste event (first image only). */
export function imageFromTransfer(dataTransfer) {
  if (!dataTransfer) return null;
  for (const item of dataTransfer.items || []) {
    if (item.kind === "file" && item.type.startsWith("image/")) return item.getAsFile();
  }
  for (const file of dataTransfer.files || []) {
    if (file.type.startsWith("image/")) return file;
  }
  return null;
}
