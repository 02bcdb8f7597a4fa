// The page's training run on the server: its last status, its whole curve, and the
// progress stream (Server-Sent Events) while it runs.
//
// Every answer belongs to the action that asked for it. An action (start, pause,
// resume, reset) starts a new generation; an answer or event of an older generation
// is dropped, so a status that was on its way when Reset was clicked cannot bring the
// reset run back. Reset forgets the run *before* asking the server to drop it: from
// the click on, nothing the page sends (a re-prediction, a knob change) names that run
// and no answer about it is drawn.

import { cancel, getJSON, postJSON } from "../../api.js";

// Set while this tab has a run on the server, so a fresh tab does not ask for a status
// that cannot exist (a 404 would land in the console).
const RUN_KEY = "convlab.trainRun";

/** Requests that name the run; Reset aborts them (their answer would be about a run that is gone). */
export const RUN_REQUESTS = ["train-config", "train-predict"];

/** One id per browser tab: the key of this page's run on the server (unguessable). */
export function sessionId() {
  const key = "convlab.trainSession";
  let id = sessionStorage.getItem(key);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(key, id);
  }
  return id;
}

/**
 * The run as the page knows it. `onChange()` is called after every change of
 * `status` (null: no run) or `points`; `onError(err)` for failures worth showing.
 */
export class TrainRun {
  constructor(session, { onChange, onError, onCleared }) {
    this.session = session;
    this.status = null;
    this.points = [];
    this.source = null;
    this.generation = 0;
    this.onChange = onChange;
    this.onError = onError;
    this.onCleared = onCleared;
  }

  /** Whether the server holds a run the page may ask about. */
  get exists() {
    return this.status !== null;
  }

  /** Start, pause or resume; `config` is the start's knobs. */
  async act(action, config = {}) {
    const generation = ++this.generation;
    const answer = await postJSON(`/api/train/${action}`, { session: this.session, ...config });
    if (generation !== this.generation) return;
    sessionStorage.setItem(RUN_KEY, "1");
    if (action === "start") this.points = [];
    this.apply(answer);
    if (answer.state === "running") this.openStream(generation);
  }

  /** Drop the run: forgotten in the page at once, then on the server. */
  async reset() {
    const generation = ++this.generation;
    this.forget();
    await postJSON("/api/train/reset", { session: this.session });
    if (generation !== this.generation) return;
    this.onChange();
  }

  /** Learning rate or batch size of the running, paused or stopped run. */
  async configure(patch) {
    if (!this.status || !["running", "paused", "stopped"].includes(this.status.state)) return;
    const generation = this.generation;
    const answer = await postJSON("/api/train/config", { session: this.session, ...patch }, { key: "train-config" });
    if (generation === this.generation) this.apply(answer);
  }

  /** The run this tab left on the server (if any), and its stream if it is still running. */
  async load() {
    if (!sessionStorage.getItem(RUN_KEY)) {
      this.clear();
      return;
    }
    const generation = this.generation;
    try {
      const status = await getJSON(`/api/train/status?session=${encodeURIComponent(this.session)}`);
      if (generation !== this.generation) return;
      this.points = [];
      this.apply(status);
      if (status.state === "running" && !this.source) this.openStream(generation);
    } catch (err) {
      if (err.status === 404) this.clear();
      else this.onError(err);
    }
  }

  /** A status snapshot (the whole curve) or a stream event (only the new points). */
  apply(status, { replace = false } = {}) {
    if (!status || status.state === "none") {
      this.clear();
      return;
    }
    if (replace) this.points = [];
    if (status.points && status.points.length) {
      const known = this.points.length ? this.points[this.points.length - 1].step : -1;
      for (const p of status.points) if (p.step > known) this.points.push(p);
    }
    this.status = status;
    this.onChange();
  }

  /** No run: stream closed, requests about it aborted, nothing kept. */
  forget() {
    this.closeStream();
    for (const key of RUN_REQUESTS) cancel(key);
    sessionStorage.removeItem(RUN_KEY);
    this.status = null;
    this.points = [];
    this.onCleared();
    this.onChange();
  }

  clear() {
    sessionStorage.removeItem(RUN_KEY);
    this.status = null;
    this.onChange();
  }

  openStream(generation) {
    this.closeStream();
    const source = new EventSource(`/api/train/stream?session=${encodeURIComponent(this.session)}`);
    this.source = source;
    source.addEventListener("progress", (e) => {
      if (generation !== this.generation || source !== this.source) return;
      const status = JSON.parse(e.data);
      this.apply(status, { replace: Boolean(status.replace) });
      if (status.state !== "running") this.closeStream();
    });
    source.addEventListener("error", () => {
      if (source === this.source && source.readyState === EventSource.CLOSED) {
        this.onError(new Error("The progress stream closed; the run may have stopped. Press Resume to continue."));
        this.closeStream();
      }
    });
  }

  closeStream() {
    this.source?.close();
    this.source = null;
  }
}
