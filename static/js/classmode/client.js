// Class mode's HTTP calls, for the phone page and the teacher's panel alike.
// Teacher calls carry `Authorization: Bearer <token>`; errors are api.js's ApiError
// with the server's message. The tally stream is read with fetch (an EventSource
// cannot send the Authorization header).

import { ApiError } from "../api.js";

async function call(method, url, { json, token } = {}) {
  const headers = {};
  if (json !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), cache: "no-store" });
  } catch {
    throw new ApiError(0, "The server cannot be reached: check the Wi-Fi, then try again.");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (typeof body.detail === "string") detail = body.detail;
    } catch {
      /* keep the status line */
    }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

const base = (code) => `/api/class/${encodeURIComponent(code)}`;

/** The calls a student's phone makes. */
export const student = {
  join: (code, nickname) => call("POST", `${base(code)}/join`, { json: nickname ? { nickname } : {} }),
  current: (code, id) => call("GET", `${base(code)}/current${id ? `?student=${encodeURIComponent(id)}` : ""}`),
  answer: (code, id, question, value) => call("POST", `${base(code)}/answers`, { json: { student: id, question, value } }),
  explain: (code, id, question, text) => call("POST", `${base(code)}/explanations`, { json: { student: id, question, text } }),
};

/** The calls of the teacher who holds `token`. */
export function teacher(code, token) {
  const t = { token };
  return {
    code,
    ask: (question) => call("POST", `${base(code)}/questions`, { ...t, json: question }),
    tally: (question) => call("GET", `${base(code)}/tally${question ? `?question=${question}` : ""}`, t),
    revote: () => call("POST", `${base(code)}/revote`, t),
    reveal: () => call("POST", `${base(code)}/reveal`, t),
    end: () => call("DELETE", base(code), t),
    csv: () => call("GET", `${base(code)}/results.csv`, t),
    qrUrl: () => `${base(code)}/qr.svg`,
    follow: (onTally, onStatus) => followStream(`${base(code)}/stream`, token, onTally, onStatus),
  };
}

export const startClass = () => call("POST", "/api/class");

/**
 * Follow the teacher's Server-Sent Events: onTally(tally) for each `data:` event;
 * onStatus("live" | "reconnecting" | "ended", message?) as the connection changes.
 * Reconnects after a dropped connection; returns stop().
 */
export function followStream(url, token, onTally, onStatus = () => {}) {
  let stopped = false;
  let controller = null;
  let delay = 500;

  async function once() {
    controller = new AbortController();
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal, cache: "no-store" });
    if (!response.ok) {
      let detail = `${response.status}`;
      try {
        detail = (await response.json()).detail || detail;
      } catch {
        /* keep the status */
      }
      throw new ApiError(response.status, detail);
    }
    onStatus("live");
    delay = 500;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "closed";
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (!data.length) continue;
        const payload = JSON.parse(data.join("\n"));
        if (event === "ended") return { ended: payload.detail };
        onTally(payload);
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        const outcome = await once();
        if (outcome && outcome.ended) {
          onStatus("ended", outcome.ended);
          return;
        }
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && [403, 404, 503].includes(err.status)) {
          onStatus("ended", err.detail);
          return;
        }
      }
      if (stopped) return;
      onStatus("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
  })();

  return () => {
    stopped = true;
    controller?.abort();
  };
}
