// The one module that talks to the server.
//
// - Non-2xx answers become an ApiError carrying the server's {"detail"} text.
// - Requests with the same `key` supersede each other: the older one is aborted and
//   its answer is never delivered, so a slider drag cannot paint stale maps.
// - `binary: true` asks for ConvLab's CLB1 array format (see app/api/transport.py)
//   and returns {...meta, arrays: {name: Float32Array|Float64Array|Int32Array|Uint8Array with .shape}}.

export const BINARY_TYPE = "application/x-convlab-arrays";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/** Thrown (and usually ignored by callers) when a newer request with the same key replaced this one. */
export class Superseded extends Error {
  constructor() {
    super("superseded by a newer request");
    this.superseded = true;
  }
}

const inflight = new Map();

// While the server cannot be reached, /api/health is asked every HEALTH_POLL_MS; when it
// answers, a "convlab:server-back" event lets the page clear the banner and recompute.
export const UNREACHABLE = "The ConvLab server cannot be reached. Is it still running?";
const HEALTH_POLL_MS = 1500;
let polling = false;

function watchForServer() {
  if (polling) return;
  polling = true;
  const poll = async () => {
    try {
      const r = await fetch("/api/health", { cache: "no-store" });
      if (r.ok) {
        polling = false;
        window.dispatchEvent(new CustomEvent("convlab:server-back"));
        return;
      }
    } catch {
      /* still away */
    }
    setTimeout(poll, HEALTH_POLL_MS);
  };
  setTimeout(poll, HEALTH_POLL_MS);
}

/** The ApiError for a non-2xx response, carrying its {"detail"} text. */
export async function errorFrom(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch {
    /* not JSON: keep the status line */
  }
  return new ApiError(response.status, detail);
}

/** Decode a CLB1 message into {...meta, arrays}. */
export function decodeArrays(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "CLB1") throw new Error("unexpected binary answer from the server");
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  let start = 8 + headerLength;
  start += (8 - (start % 8)) % 8;
  const arrays = {};
  for (const [name, spec] of Object.entries(header.arrays)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const Type = { u1: Uint8Array, i4: Int32Array, f4: Float32Array, f8: Float64Array }[spec.dtype];
    if (!Type) throw new Error(`unexpected array type ${spec.dtype} in the server's answer`);
    const arr = new Type(buffer, start + spec.offset, count);
    arr.shape = spec.shape;
    arrays[name] = arr;
  }
  return { ...header.meta, arrays };
}

/**
 * fetch + error handling + stale-drop.
 * @param {string} url
 * @param {{method?: string, json?: any, body?: BodyInit, binary?: boolean, key?: string}} opts
 */
export async function request(url, { method = "GET", json, body, binary = false, key } = {}) {
  const controller = new AbortController();
  if (key) {
    inflight.get(key)?.abort();
    inflight.set(key, controller);
  }
  const headers = {};
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  headers.Accept = binary ? BINARY_TYPE : "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body, signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) throw new Superseded();
    watchForServer();
    throw new ApiError(0, UNREACHABLE);
  }
  try {
    if (!response.ok) throw await errorFrom(response);
    const type = response.headers.get("content-type") || "";
    if (type.startsWith(BINARY_TYPE)) return decodeArrays(await response.arrayBuffer());
    if (type.startsWith("application/json")) return await response.json();
    return await response.blob();
  } catch (err) {
    if (controller.signal.aborted) throw new Superseded();
    throw err;
  } finally {
    if (key && inflight.get(key) === controller) inflight.delete(key);
    if (key && controller.signal.aborted) throw new Superseded();
  }
}

/** Abort the request in flight under `key`, if any (its caller gets Superseded). */
export function cancel(key) {
  inflight.get(key)?.abort();
  inflight.delete(key);
}

export const getJSON = (url, opts = {}) => request(url, opts);
export const postJSON = (url, json, opts = {}) => request(url, { ...opts, method: "POST", json });

/** Turn a flat typed array with .shape (C, H, W) into per-channel subarray views. */
export function channels(arr) {
  const [c, h, w] = arr.shape;
  const out = [];
  for (let i = 0; i < c; i++) {
    const view = arr.subarray(i * h * w, (i + 1) * h * w);
    view.shape = [h, w];
    out.push(view);
  }
  return out;
}

/** Nested lists (JSON answers) -> flat Float32Array with .shape. */
export function fromNested(nested) {
  const shape = [];
  let probe = nested;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat = new Float32Array(nested.flat(Infinity));
  flat.shape = shape;
  return flat;
}
