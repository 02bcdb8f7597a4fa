// The phone page of class mode: join with the code, answer the teacher's question with
// big touch targets, see "received", then the reveal, and (after a miss) write one line
// on why the prediction differed. It polls the current question once a second: plain
// requests survive a classroom's Wi-Fi better than a long-lived connection.

import { student as api } from "./client.js";

const POLL_MS = 1000;
const POLL_MS_AFTER_ERROR = 3000;
const $ = (id) => document.getElementById(id);
const storageKey = (code) => `convlab.class.${code}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

const page = {
  code: "",
  id: "",
  nickname: "",
  view: null, // last GET current answer
  shownKey: "", // question:round:status of what is rendered
  timer: null,
  sending: false,
  seq: 0,
};

function showError(message) {
  const box = $("student-error");
  box.textContent = message || "";
  box.hidden = !message;
}

function show(section) {
  for (const id of ["join-form", "waiting", "question", "reveal"]) $(id).hidden = id !== section;
}

function remember() {
  try {
    localStorage.setItem(storageKey(page.code), JSON.stringify({ id: page.id, nickname: page.nickname }));
  } catch {
    /* private mode: the id lives as long as the page */
  }
}

function recall(code) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(code)) || "null");
  } catch {
    return null;
  }
}

function forget() {
  try {
    localStorage.removeItem(storageKey(page.code));
  } catch {
    /* nothing stored */
  }
  page.id = "";
}

function showJoin(message = "") {
  clearTimeout(page.timer);
  show("join-form");
  $("join-code").value = page.code;
  showError(message);
  (page.code ? $("join-nickname") : $("join-code")).focus();
}

async function join(event) {
  event.preventDefault();
  const code = $("join-code").value.toUpperCase().replace(/[\s-]/g, "");
  const nickname = $("join-nickname").value.trim();
  const button = $("join-form").querySelector("button");
  button.disabled = true;
  try {
    const { student } = await api.join(code, nickname);
    page.code = code;
    page.id = student;
    page.nickname = nickname;
    remember();
    history.replaceState(null, "", `/join/${code}`);
    showError("");
    $("student-who").textContent = nickname ? `${nickname} · ${code}` : code;
    await poll();
  } catch (err) {
    showError(err.detail || String(err));
  } finally {
    button.disabled = false;
  }
}

function roundText(view) {
  if (view.round > 1) return `Question ${view.question} · vote again: discuss with a neighbour, then answer`;
  return `Question ${view.question} · predict before you see the result`;
}

function renderFigures(figures) {
  $("question-figures").replaceChildren(...(figures || []).map((fig) => el("figure", { class: "student-figure" },
    el("figcaption", {}, fig.label),
    el("table", { class: "student-grid" }, el("tbody", {}, ...fig.grid.map((row) => el("tr", {}, ...row.map((v) => el("td", {}, String(v))))))))));
}

function receivedText(value) {
  return `✓ Received: ${value}. You can change it until the teacher reveals the answer.`;
}

async function send(value) {
  if (page.sending) return;
  const view = page.view;
  page.sending = true;
  $("received").textContent = "Sending…";
  try {
    await api.answer(page.code, page.id, view.question, value);
    showError("");
    await poll();
  } catch (err) {
    $("received").textContent = "";
    showError(err.detail || String(err));
  } finally {
    page.sending = false;
  }
}

function renderAnswerForm(view) {
  const form = $("answer-form");
  const mine = view.mine?.value ?? null;
  if (view.kind === "choice") {
    form.replaceChildren(el("div", { class: "choice-grid", role: "group", "aria-label": "Your answer" },
      ...view.choices.map((choice) => el("button", {
        type: "button", class: "big-button choice", "data-testid": "student-choice", "data-value": choice,
        "aria-pressed": String(mine === choice), onclick: () => send(choice),
      }, el("span", { class: "choice-mark", "aria-hidden": "true" }, mine === choice ? "●" : "○"), " ", choice))));
  } else {
    const input = el("input", { id: "answer-number", class: "big-input", type: "text", inputmode: "decimal", autocomplete: "off",
      "data-testid": "student-number", "aria-label": "Your answer (a number)", placeholder: "a number", required: true });
    if (mine !== null) input.value = mine;
    form.replaceChildren(el("label", { for: "answer-number", class: "visually-hidden" }, "Your answer (a number)"), input,
      el("button", { type: "submit", class: "big-button primary", "data-testid": "student-send" }, mine === null ? "Send" : "Change my answer"));
    form.onsubmit = (e) => {
      e.preventDefault();
      if (input.value.trim()) send(input.value.trim());
    };
  }
}

function updateChoices(view) {
  const mine = view.mine?.value ?? null;
  for (const button of $("answer-form").querySelectorAll("[data-value]")) {
    const on = button.dataset.value === mine;
    button.setAttribute("aria-pressed", String(on));
    button.querySelector(".choice-mark").textContent = on ? "●" : "○";
  }
  const submit = $("answer-form").querySelector("[data-testid='student-send']");
  if (submit) submit.textContent = mine === null ? "Send" : "Change my answer";
}

function renderQuestion(view, fresh) {
  show("question");
  if (fresh) {
    $("question-round").textContent = roundText(view);
    $("question-prompt").textContent = view.prompt;
    renderFigures(view.figures);
    renderAnswerForm(view);
    $("received").textContent = "";
  } else {
    updateChoices(view);
  }
  const mine = view.mine?.value ?? null;
  if (mine !== null && !page.sending) $("received").textContent = receivedText(mine);
}

function renderReveal(view, fresh) {
  show("reveal");
  const mine = view.mine || {};
  const verdict = $("reveal-verdict");
  if (mine.value === null || mine.value === undefined) {
    verdict.textContent = "You did not answer this one.";
    verdict.dataset.verdict = "none";
  } else if (mine.correct) {
    verdict.textContent = `✓ Right: you said ${mine.value}.`;
    verdict.dataset.verdict = "right";
  } else {
    verdict.textContent = `✗ Not this time: you said ${mine.value}.`;
    verdict.dataset.verdict = "wrong";
  }
  $("reveal-answer").textContent = view.answer;
  if (fresh) {
    $("reveal-working").replaceChildren(...(view.working || []).map((line) => el("li", {}, line)));
    $("explain-text").value = "";
  }
  const missed = mine.value !== null && mine.value !== undefined && mine.correct === false;
  $("explain-form").hidden = !missed || mine.explained;
  $("explain-thanks").hidden = !mine.explained;
}

function render(view) {
  page.view = view;
  const key = `${view.question}:${view.round}:${view.status}`;
  const fresh = key !== page.shownKey;
  page.shownKey = key;
  if (view.status === "waiting") show("waiting");
  else if (view.status === "open") renderQuestion(view, fresh);
  else renderReveal(view, fresh);
  if (fresh && view.status !== "waiting") document.title = `Question ${view.question} · ConvLab class`;
}

async function poll() {
  clearTimeout(page.timer);
  const seq = ++page.seq; // a newer poll (after an answer) supersedes this one: one timer chain only
  let wait = POLL_MS;
  try {
    const view = await api.current(page.code, page.id);
    if (seq !== page.seq) return;
    showError("");
    render(view);
  } catch (err) {
    if (seq !== page.seq) return;
    if (err.status === 404) {
      if (/student/.test(err.detail)) {
        forget();
        showJoin("This phone is no longer in the class (it may have restarted): join again.");
      } else {
        forget();
        showJoin(err.detail);
      }
      return;
    }
    showError(`${err.detail || err} Retrying…`);
    wait = POLL_MS_AFTER_ERROR;
  }
  page.timer = setTimeout(poll, document.hidden ? wait * 3 : wait);
}

async function explain(event) {
  event.preventDefault();
  const text = $("explain-text").value.trim();
  if (!text) return;
  try {
    await api.explain(page.code, page.id, page.view.question, text);
    showError("");
    await poll();
  } catch (err) {
    showError(err.detail || String(err));
  }
}

function boot() {
  page.code = $("student-main").dataset.code || "";
  $("join-form").addEventListener("submit", join);
  $("explain-form").addEventListener("submit", explain);
  document.addEventListener("visibilitychange", () => !document.hidden && page.id && poll());
  const saved = page.code ? recall(page.code) : null;
  if (saved?.id) {
    page.id = saved.id;
    page.nickname = saved.nickname || "";
    $("student-who").textContent = page.nickname ? `${page.nickname} · ${page.code}` : page.code;
    poll();
  } else {
    showJoin();
  }
  document.body.dataset.ready = "1";
}

boot();
