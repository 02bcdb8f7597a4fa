// Newline-delimited JSON from a POST (feature visualisation and the ε curve stream their
// progress this way): each line is an object; "type": "error" ends the stream with a message.

import { ApiError, Superseded, errorFrom } from "../../api.js";

const controllers = new Map();

/**
 * POST `body` to `url` and call onLine(object) for every line as it arrives.
 * A newer call with the same `key` aborts the older one (which rejects with Superseded).
 */
export async function streamLines(url, body, onLine, { key } = {}) {
  const controller = new AbortController();
  if (key) {
    controllers.get(key)?.abort();
    controllers.set(key, controller);
  }
  try {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/x-ndjson" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
    } catch {
      if (controller.signal.aborted) throw new Superseded();
      throw new ApiError(0, "The ConvLab server cannot be reached. Is it still running?");
    }
    if (!response.ok) throw await errorFrom(response);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        if (controller.signal.aborted) throw new Superseded();
        throw new ApiError(0, "The stream from the server broke off; try again.");
      }
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const message = JSON.parse(line);
        if (message.type === "error") throw new ApiError(422, message.detail);
        if (controller.signal.aborted) throw new Superseded();
        onLine(message);
      }
    }
  } finally {
    if (key && controllers.get(key) === controller) controllers.delete(key);
  }
}

/** Abort the stream running under `key`, if any. */
export function cancelStream(key) {
  controllers.get(key)?.abort();
  controllers.delete(key);
}
