// The teacher's class panel, for the projector: the join code and QR code, how many
// joined, the question composer, the live histogram, "discuss and vote again", the
// reveal (which also sets the lab to the predicted change, so the class sees the real
// result), the students' anonymous one-line explanations, and the CSV.
//
// The teacher token lives in sessionStorage (this tab only), never in the URL: the
// page's URL is shared with students, the token must not be.

import * as state from "../../state.js";
import { el } from "../../ui.js";
import { startClass, teacher as teacherApi } from "../../classmode/client.js";
import { renderHistogram } from "./histogram.js";
import { KINDS, exerciseQuestion, labQuestion, requestBody } from "./questions.js";

const SESSION_KEY = "convlab.class.teacher";
const LAB_NAMES = { conv: "Convolution", pool: "Pooling", network: "Network" };
const KIND_NAMES = { size: "output size", params: "parameter count", rf: "receptive field", cell: "one output value" };
const newSeed = () => String(1 + Math.floor(Math.random() * 999_999));

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

function saveSession(session) {
  try {
    if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    /* storage off: the class lasts as long as this page */
  }
}

export function mountClassPanel(ctx) {
  // --- markup -------------------------------------------------------------------
  const code = el("span", { class: "cm-code", "data-testid": "class-code" });
  const joined = el("p", { class: "cm-joined", "data-testid": "class-joined", "aria-live": "polite" });
  const hideButton = el("button", { type: "button", "data-testid": "class-hide" }, "Hide");
  const endButton = el("button", { type: "button", "data-testid": "class-end" }, "End class");
  const qr = el("img", { class: "cm-qr", "data-testid": "class-qr", alt: "" });
  const url = el("p", { class: "cm-url", "data-testid": "class-url" });
  const note = el("p", { class: "cm-note warn", "data-testid": "class-note", hidden: true });
  const joinBox = el("section", { class: "cm-join", "data-testid": "class-join", "aria-label": "How to join" },
    qr, el("div", { class: "cm-join-text" }, el("p", { class: "cm-join-hint" }, "On your phone: scan, or open"), url,
      el("p", { class: "cm-join-hint" }, "and type the code if asked. No account, no app."), note));

  const status = el("p", { class: "cm-status", "data-testid": "class-status" });
  const prompt = el("h3", { class: "cm-prompt", "data-testid": "class-prompt" });
  const figures = el("div", { class: "cm-figures" });
  const histogram = el("div", { class: "cm-histogram", "data-testid": "class-histogram", "aria-live": "polite" });
  const answerBox = el("div", { class: "cm-answer", "data-testid": "class-answer", hidden: true });
  const revoteButton = el("button", { type: "button", "data-testid": "class-revote" }, "Discuss and vote again");
  const revealButton = el("button", { type: "button", class: "primary", "data-testid": "class-reveal" }, "Reveal the answer");
  const explanationList = el("ul", { class: "cm-explanation-list" });
  const explanations = el("section", { class: "cm-explanations", "data-testid": "class-explanations", hidden: true },
    el("h4", {}, "Why some predicted otherwise (anonymous)"), explanationList);
  const live = el("section", { class: "cm-live", "data-testid": "class-live", hidden: true, "aria-label": "Current question" },
    status, prompt, figures, histogram, answerBox, el("div", { class: "cm-actions" }, revoteButton, revealButton), explanations);

  const source = el("select", { id: "cm-source", "data-testid": "class-source" });
  const formatNumber = el("input", { type: "radio", name: "cm-format", value: "number", id: "cm-format-number", checked: true });
  const formatChoice = el("input", { type: "radio", name: "cm-format", value: "choice", id: "cm-format-choice", "data-testid": "class-format-choice" });
  const ownPrompt = el("textarea", { id: "cm-own-prompt", rows: 2, maxlength: 500, "data-testid": "class-own-prompt" });
  const ownChoices = el("textarea", { id: "cm-own-choices", rows: 3, "data-testid": "class-own-choices", placeholder: "one choice per line (empty: a number question)" });
  const ownAnswer = el("input", { id: "cm-own-answer", type: "text", "data-testid": "class-own-answer", autocomplete: "off" });
  const ownFields = el("div", { class: "cm-own", hidden: true },
    el("label", { for: "cm-own-prompt" }, "Question"), ownPrompt,
    el("label", { for: "cm-own-choices" }, "Choices"), ownChoices,
    el("label", { for: "cm-own-answer" }, "Answer (not shown until you reveal)"), ownAnswer);
  const preview = el("p", { class: "cm-preview", "data-testid": "class-preview" });
  const anotherButton = el("button", { type: "button", "data-testid": "class-another" }, "Another one");
  const sendButton = el("button", { type: "button", class: "primary", "data-testid": "class-send" }, "Send to phones");
  const composeSummary = el("summary", {}, "Next question");
  const compose = el("details", { class: "cm-compose", "data-testid": "class-compose", open: true }, composeSummary,
    el("div", { class: "row" }, el("label", { for: "cm-source" }, "Question"), source),
    el("div", { class: "row cm-format", role: "radiogroup", "aria-label": "Answer as" }, el("span", { class: "label" }, "Answer as"),
      el("label", { for: "cm-format-number" }, formatNumber, " a number"), el("label", { for: "cm-format-choice" }, formatChoice, " multiple choice")),
    ownFields, preview, el("div", { class: "row" }, anotherButton, sendButton));

  const csvButton = el("button", { type: "button", "data-testid": "class-csv" }, "Results (CSV)");
  const message = el("p", { class: "cm-message", role: "status", "aria-live": "polite", "data-testid": "class-message" });
  const panel = el("aside", { id: "class-panel", class: "class-panel", "data-testid": "class-panel", "data-classroom-ui": "1",
    "aria-labelledby": "class-title", hidden: true },
  el("div", { class: "cm-head" },
    el("h2", { id: "class-title", class: "cm-title" }, "Class"),
    el("div", { class: "cm-code-box" }, el("span", { class: "cm-code-label" }, "code"), code),
    joined, el("div", { class: "cm-head-actions" }, hideButton, endButton)),
  joinBox, live, compose, el("div", { class: "cm-foot" }, csvButton, message));
  const showButton = el("button", { type: "button", class: "class-show", "data-testid": "class-show", hidden: true, "data-classroom-ui": "1" });
  document.body.append(panel, showButton);

  // --- state --------------------------------------------------------------------
  let session = null; // {code, token, joinUrl, note, applies: {number: stateChange}}
  let api = null;
  let stop = null;
  let last = null; // the last tally
  let seed = newSeed();
  let draft = null; // the question the composer would send
  const applied = new Set();

  function say(text) {
    message.textContent = text || "";
  }

  function fillSources() {
    const lab = state.get().lab;
    const options = [el("option", { value: "lab" }, `This lab, now: predict a knob change (${LAB_NAMES[lab] || "Convolution or Pooling lab"})`)];
    for (const [exLab, kinds] of Object.entries(KINDS)) {
      for (const kind of kinds) options.push(el("option", { value: `ex:${exLab}:${kind}` }, `Exercise · ${LAB_NAMES[exLab]} · ${KIND_NAMES[kind] || kind}`));
    }
    options.push(el("option", { value: "own" }, "Your own question"));
    const keep = source.value;
    source.replaceChildren(...options);
    source.value = keep && [...source.options].some((o) => o.value === keep) ? keep : (KINDS[lab] ? `ex:${lab}:size` : "ex:conv:size");
  }

  function composeDraft() {
    const choices = formatChoice.checked;
    const value = source.value;
    ownFields.hidden = value !== "own";
    anotherButton.hidden = value === "own" || value === "lab";
    draft = null;
    if (value === "lab") {
      draft = labQuestion(state.get(), ctx.imageInfo(), { choices, seed });
      if (!draft) {
        preview.textContent = "Open the Convolution lab (or the Pooling lab on an image) to ask about what is on screen.";
        return;
      }
    } else if (value.startsWith("ex:")) {
      const [, lab, kind] = value.split(":");
      draft = exerciseQuestion(lab, kind, seed, { choices });
    } else {
      const lines = ownChoices.value.split("\n").map((s) => s.trim()).filter(Boolean);
      draft = { prompt: ownPrompt.value.trim(), answer: ownAnswer.value.trim(), source: "own" };
      if (lines.length) draft.choices = lines;
      preview.textContent = "";
      return;
    }
    preview.textContent = draft.prompt; // the prompt only: the projector must not show the answer
  }

  function renderJoin() {
    code.textContent = session.code;
    url.textContent = session.joinUrl;
    qr.src = api.qrUrl();
    qr.alt = `QR code of ${session.joinUrl}`;
    note.textContent = session.note || "";
    note.hidden = !session.note;
    showButton.textContent = `Class ${session.code}`;
  }

  function renderTally(tally) {
    const previous = last;
    last = tally;
    joined.textContent = `${tally.joined} joined`;
    showButton.textContent = `Class ${session.code} · ${tally.joined} joined`;
    const asking = tally.question !== null;
    live.hidden = !asking;
    joinBox.classList.toggle("compact", asking);
    if (!asking) return;
    const who = `${tally.answered} of ${tally.joined} answered`;
    status.textContent = tally.revealed
      ? `Question ${tally.question} · revealed`
      : `Question ${tally.question} · round ${tally.round}${tally.round > 1 ? " (after discussion)" : ""} · ${who}`;
    if (prompt.dataset.question !== String(tally.question)) {
      prompt.dataset.question = String(tally.question);
      prompt.textContent = tally.prompt;
      figures.replaceChildren(...(tally.figures || []).map((fig) => el("figure", { class: "cm-figure" },
        el("figcaption", {}, fig.label),
        el("table", { class: "numbers cm-grid" }, el("tbody", {}, ...fig.grid.map((row) => el("tr", {}, ...row.map((v) => el("td", {}, String(v))))))))));
    }
    renderHistogram(histogram, tally);
    revoteButton.disabled = tally.revealed || tally.round >= 2;
    revealButton.disabled = tally.revealed;
    const revealedNow = tally.revealed && !(previous && previous.question === tally.question && previous.revealed);
    if (revealedNow) compose.open = true; // ready for the next question
    answerBox.hidden = !tally.revealed;
    explanations.hidden = !tally.revealed;
    if (tally.revealed) {
      const change = session.applies?.[tally.question];
      answerBox.replaceChildren(
        el("p", { class: "cm-answer-line" }, "Answer: ", el("strong", {}, tally.answer)),
        el("ol", { class: "cm-working" }, ...(tally.working || []).map((line) => el("li", {}, line))));
      explanationList.replaceChildren(...(tally.explanations.length
        ? tally.explanations.map((x) => el("li", {}, el("span", { class: "cm-said" }, `said ${x.answer}: `), x.text))
        : [el("li", { class: "cm-none" }, "No lines yet: students who missed are asked on their phones.")]));
      if (revealedNow) requestAnimationFrame(() => explanations.scrollIntoView({ block: "nearest", behavior: "smooth" }));
      if (change && !applied.has(`${session.code}:${tally.question}`)) {
        applied.add(`${session.code}:${tally.question}`);
        state.set(change, { history: true });
      }
    }
  }

  function follow() {
    stop?.();
    stop = api.follow(renderTally, (kind, detail) => {
      if (kind === "ended") {
        say(detail || "The class has ended.");
        end({ local: true });
      } else if (kind === "reconnecting") say("Connection lost: reconnecting…");
      else say("");
    });
  }

  function open(newSession) {
    session = newSession;
    api = teacherApi(session.code, session.token);
    saveSession(session);
    renderJoin();
    fillSources();
    composeDraft();
    panel.hidden = false;
    showButton.hidden = true;
    document.documentElement.classList.add("with-class-panel");
    follow();
  }

  async function start() {
    if (session) {
      show();
      return;
    }
    try {
      const created = await startClass();
      open({ code: created.code, token: created.teacher_token, joinUrl: created.join_url, note: created.note, applies: {} });
      say("");
      code.focus?.();
    } catch (err) {
      openError(err.detail || String(err));
    }
  }

  function openError(text) {
    // No class: show the panel with only the message (e.g. several workers without Redis).
    panel.hidden = false;
    document.documentElement.classList.add("with-class-panel");
    code.textContent = "—";
    say(text);
  }

  function hide() {
    panel.hidden = true;
    document.documentElement.classList.remove("with-class-panel");
    showButton.hidden = !session;
  }

  function show() {
    panel.hidden = false;
    showButton.hidden = true;
    document.documentElement.classList.add("with-class-panel");
  }

  async function end({ local = false } = {}) {
    stop?.();
    stop = null;
    if (!local && api) {
      try {
        await api.end();
      } catch {
        /* already gone */
      }
    }
    session = null;
    api = null;
    saveSession(null);
    panel.hidden = true;
    showButton.hidden = true;
    document.documentElement.classList.remove("with-class-panel");
  }

  // --- actions ------------------------------------------------------------------
  async function act(fn) {
    try {
      say("");
      const tally = await fn();
      if (tally && tally.rounds) renderTally(tally);
    } catch (err) {
      say(err.detail || String(err));
    }
  }

  sendButton.addEventListener("click", () => act(async () => {
    composeDraft();
    if (!draft) throw new Error("Nothing to send: choose a question first.");
    const { question } = await api.ask(requestBody(draft));
    session.applies = { ...(session.applies || {}), [question]: draft.apply || null };
    saveSession(session);
    seed = newSeed();
    compose.open = false;
    composeDraft();
    return api.tally(question);
  }));
  revoteButton.addEventListener("click", () => act(() => api.revote()));
  revealButton.addEventListener("click", () => act(() => api.reveal()));
  anotherButton.addEventListener("click", () => {
    seed = newSeed();
    composeDraft();
  });
  for (const node of [source, formatNumber, formatChoice]) node.addEventListener("change", composeDraft);
  for (const node of [ownPrompt, ownChoices, ownAnswer]) node.addEventListener("input", composeDraft);
  csvButton.addEventListener("click", () => act(async () => {
    const text = await api.csv();
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: `convlab-class-${session.code}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    say("Results downloaded (CSV).");
  }));
  hideButton.addEventListener("click", hide);
  showButton.addEventListener("click", show);
  let armed = null;
  endButton.addEventListener("click", () => {
    if (armed) {
      clearTimeout(armed);
      armed = null;
      endButton.textContent = "End class";
      end();
      return;
    }
    endButton.textContent = "Click again: end and delete results";
    armed = setTimeout(() => {
      armed = null;
      endButton.textContent = "End class";
    }, 4000);
  });
  state.subscribe((s, changed) => {
    if (!panel.hidden && changed.includes("lab")) fillSources();
    if (!panel.hidden && source.value === "lab" && !changed.every((k) => k === "present")) composeDraft();
  });

  // A reload of the teacher's tab resumes the class it was running.
  const saved = loadSession();
  if (saved?.code && saved?.token) open(saved);

  return { start, isOpen: () => !panel.hidden, hide, end, tally: () => last };
}
