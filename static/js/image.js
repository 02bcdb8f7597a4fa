// The current input image, shared by every lab.
//
// Images live on the server under content-addressed ids. Any worker may not have
// one (another worker took the upload, or its cache evicted it); it then answers
// 404 and we upload the same bytes again, which yields the same id, and retry.

import { ApiError, getJSON, request } from "./api.js";

const uploads = new Map(); // id -> {blob, name}: what to re-send on a 404
const pixelCache = new Map(); // `${id}@${side}:${color}` -> Float32Array with .shape (C, H, W)
const PIXEL_CACHE_SIZE = 6;
let samplesPromise = null;

// "Max side": every lab computes on a copy of the chosen image shrunk to this longest
// side, made by the server (POST /api/images/{id}/resized) for samples and uploads
// alike. Uploads are stored at UPLOAD_SIDE, the largest choice, so going back up
// from 64 to 512 needs no new upload.
const UPLOAD_SIDE = 512;
let maxSide = UPLOAD_SIDE;
const resized = new Map(); // `${id}@${side}` -> Promise of {id, width, height, channels}

/** Set the longest side the labs compute at (the picker calls this from the state). */
export function setMaxSide(side) {
  maxSide = Number(side) > 0 ? Number(side) : UPLOAD_SIDE;
}

export const getMaxSide = () => maxSide;

/**
 * {id, width, height, channels} of what the labs use for image `id` at the current max
 * side: the image itself when it is small enough, else its shrunk copy (asked for once).
 */
export function effectiveInfo(id, side = maxSide) {
  const key = `${id}@${side}`;
  if (!resized.has(key)) {
    const pending = request(`/api/images/${encodeURIComponent(id)}/resized?max_side=${encodeURIComponent(side)}`, { method: "POST" });
    pending.catch(() => resized.delete(key));
    resized.set(key, pending);
  }
  return resized.get(key);
}

/** The id the labs send for image `id`: no request while nothing needs shrinking. */
async function effectiveId(id) {
  if (maxSide >= UPLOAD_SIDE) return id; // samples and uploads are stored at most this big
  return (await effectiveInfo(id)).id;
}

function forgetResized(id) {
  for (const key of [...resized.keys()]) if (key.startsWith(`${id}@`)) resized.delete(key);
}

/** [{id, name, width, height, channels}] of the built-in samples (fetched once). */
export function listSamples() {
  samplesPromise ??= getJSON("/api/samples").catch((err) => {
    samplesPromise = null;
    throw err;
  });
  return samplesPromise;
}

/**
 * Upload a File/Blob (stored at the largest max side, UPLOAD_SIDE); resolves to
 * {id, width, height, channels} of the stored image.
 */
export async function upload(blob, { name = blob.name || "image" } = {}) {
  const form = new FormData();
  form.append("file", blob, name.replace(/[^\w.\- ]/g, "_").slice(0, 80) || "image");
  form.append("max_side", String(UPLOAD_SIDE));
  form.append("color", "auto");
  const info = await request(`/api/images?max_side=${UPLOAD_SIDE}&color=auto`, {
    method: "POST",
    body: form,
  });
  uploads.set(info.id, { blob, name });
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
 * Run `fn(id)` with the id of what the labs compute on (image `id` at the current max
 * side). When the server answers 404 (a worker lost the image or its shrunk copy), the
 * copy is made again — after uploading the same bytes again for an image we uploaded —
 * and fn retried (a few times). Samples are built into every server and never go missing.
 */
export async function withImage(id, fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(await effectiveId(id));
    } catch (err) {
      if (!isMissingImage(err) || attempt >= MAX_REUPLOADS) throw err;
      forgetResized(id);
      if (uploads.has(id)) {
        const { blob, name } = uploads.get(id);
        id = (await upload(blob, { name })).id;
      } else if (!id.startsWith("sample-") || attempt > 0) throw err;
    }
  }
}

/** The exact float32 pixels of image `id` at the current max side, (C, H, W), converted to `color` ("gray" | "rgb"). */
export async function getPixels(id, color) {
  const key = `${id}@${maxSide}:${color}`;
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
