// The one state object of the page, mirrored in the URL's hash.
//
// Every lab declares its fields in a table ({name, def, parse?, format?}) and
// registers it here; names are unique across labs (labs prefix theirs, e.g.
// "pool.k"). Only this module touches location/history. A shared link or a
// reload restores exactly the state that was on screen.
//
// A URL is input from anyone: every value read from it is checked against its field's
// kind (the type of `def`) and limits (`min`, `max`, `options`, `maxLength`, `check`,
// declared in the table or in ./limits.js) before any lab sees it. A value of the wrong
// kind falls back to the default, a number out of range is clamped, and each change is
// remembered as a message naming the field (takeWarnings()) for the page to show.

import { URL_LIMITS } from "./limits.js";

const fields = new Map();
let state = {};
let warnings = [];
const MAX_TEXT = 4000; // characters of one string field from a URL
const MAX_LIST = 4096; // elements of one list field from a URL
const listeners = new Set();
let writeTimer = null;

/** Parsers for common field kinds. */
export const parse = {
  int: (s) => {
    const v = Number.parseInt(s, 10);
    return Number.isFinite(v) ? v : undefined;
  },
  num: (s) => {
    const v = Number(s);
    return Number.isFinite(v) ? v : undefined;
  },
  str: (s) => s,
  bool: (s) => s === "1" || s === "true",
  /** "3,5" -> [3, 5]; "3" -> [3, 3] */
  pair: (s) => {
    const parts = String(s).split(",").map((p) => Number.parseInt(p, 10));
    if (parts.length === 1 && Number.isFinite(parts[0])) return [parts[0], parts[0]];
    if (parts.length === 2 && parts.every(Number.isFinite)) return parts;
    return undefined;
  },
  /** Comma-separated numbers of any length. */
  nums: (s) => {
    if (s === "") return [];
    const parts = String(s).split(",").map(Number);
    return parts.every(Number.isFinite) ? parts : undefined;
  },
  json: (s) => {
    try {
      return JSON.parse(s);
    } catch {
      return undefined;
    }
  },
};

export const format = {
  default: (v) => String(v),
  bool: (v) => (v ? "1" : "0"),
  list: (v) => v.join(","),
  json: (v) => JSON.stringify(v),
};

function formatterFor(field) {
  if (field.format) return field.format;
  if (typeof field.def === "boolean") return format.bool;
  if (Array.isArray(field.def)) return format.list;
  if (field.def !== null && typeof field.def === "object") return format.json;
  return format.default;
}

function parserFor(field) {
  if (field.parse) return field.parse;
  const d = field.def;
  if (typeof d === "boolean") return parse.bool;
  if (typeof d === "number") return Number.isInteger(d) ? parse.int : parse.num;
  if (Array.isArray(d)) return parse.nums;
  if (d !== null && typeof d === "object") return parse.json;
  return parse.str;
}

const clone = (v) => (v !== null && typeof v === "object" ? JSON.parse(JSON.stringify(v)) : v);

function kindOf(v) {
  if (Array.isArray(v)) return "list";
  if (v === null) return "null";
  return typeof v;
}

function clampNumber(v, field) {
  let x = v;
  if (Number.isInteger(field.def) && !Number.isInteger(x)) x = Math.round(x);
  if (field.min !== undefined && x < field.min) x = field.min;
  if (field.max !== undefined && x > field.max) x = field.max;
  return x;
}

/**
 * A value parsed from the URL, made safe for `field`: [value, problem or ""].
 * Wrong kind -> the default; numbers (alone or in lists) clamped to [min, max];
 * strings outside `options` -> the default; lists and text cut to a length.
 */
export function conform(field, value) {
  const def = field.def;
  const want = kindOf(def);
  if (kindOf(value) !== want) return [clone(def), "not understood"];
  if (want === "number") {
    if (!Number.isFinite(value)) return [clone(def), "not a finite number"];
    const x = clampNumber(value, field);
    if (x !== value) return [x, `out of range (${field.min ?? "−∞"} to ${field.max ?? "∞"})`];
  } else if (want === "string") {
    if (field.options && !field.options.includes(value)) return [clone(def), "not one of the choices"];
    if (value.length > (field.maxLength ?? MAX_TEXT)) return [clone(def), "too long"];
  } else if (want === "list") {
    const limit = field.maxLength ?? MAX_LIST;
    if (value.length > limit) return [clone(def), `longer than ${limit} values`];
    const numeric = def.length ? typeof def[0] === "number" : value.every((v) => typeof v === "number");
    if (numeric) {
      if (!value.every((v) => typeof v === "number" && Number.isFinite(v))) return [clone(def), "not a list of numbers"];
      if (field.minLength !== undefined && value.length && value.length < field.minLength) return [clone(def), "too short"];
      const clamped = value.map((v) => clampNumber(v, field));
      if (clamped.some((v, i) => v !== value[i])) return [clamped, `out of range (${field.min ?? "−∞"} to ${field.max ?? "∞"})`];
    } else if (!value.every((v) => typeof v === "string" && v.length <= MAX_TEXT)) {
      return [clone(def), "not a list of names"];
    }
  } else if (want === "object") {
    if (JSON.stringify(value).length > (field.maxLength ?? 20 * MAX_TEXT)) return [clone(def), "too long"];
  }
  if (field.check) {
    let checked;
    try {
      checked = field.check(value);
    } catch {
      checked = undefined;
    }
    if (checked === undefined) return [clone(def), "not allowed here"];
    if (JSON.stringify(checked) !== JSON.stringify(value)) return [checked, "adjusted to the server's limits"];
  }
  return [value, ""];
}

/** The value of `field` in a URL's parameters (its default when absent), checked by conform(). */
function valueFromUrl(field, params) {
  if (!params.has(field.name)) return clone(field.def);
  const raw = params.get(field.name);
  let parsed;
  try {
    parsed = parserFor(field)(raw);
  } catch {
    parsed = undefined;
  }
  const [value, problem] = parsed === undefined ? [clone(field.def), raw === "" ? "empty" : "not understood"]
    : conform(field, parsed);
  if (problem) warnings.push({ name: field.name, raw: String(raw).slice(0, 40), value, problem });
  return value;
}

/** Every registered field's name (the tests load each one with hostile values). */
export function fieldNames() {
  return [...fields.keys()];
}

/** [{name, raw, value, problem}] for URL values changed since the last call. */
export function takeWarnings() {
  const out = warnings;
  warnings = [];
  return out;
}

/** Declare fields (a table of {name, def, parse?, format?}) and read their values from the URL. */
export function registerFields(table) {
  const fromUrl = decodeHash(location.hash);
  for (const declared of table) {
    if (fields.has(declared.name)) throw new Error(`state field "${declared.name}" registered twice`);
    const field = { ...URL_LIMITS[declared.name], ...declared };
    fields.set(field.name, field);
    state[field.name] = valueFromUrl(field, fromUrl);
  }
}

function decodeHash(hash) {
  try {
    return new URLSearchParams(String(hash || "").replace(/^#/, ""));
  } catch {
    return new URLSearchParams();
  }
}

/** The current state (treat as read-only; change it with set()). */
export function get() {
  return state;
}

/** Merge a patch, write the URL, and tell listeners which keys changed. */
export function set(patch, { history: push = false } = {}) {
  const changed = [];
  const next = { ...state };
  for (const [key, value] of Object.entries(patch)) {
    if (!fields.has(key)) throw new Error(`unknown state field "${key}"`);
    if (JSON.stringify(next[key]) !== JSON.stringify(value)) {
      next[key] = clone(value);
      changed.push(key);
    }
  }
  if (!changed.length) return changed;
  state = next;
  scheduleWrite(push);
  for (const fn of listeners) fn(state, changed);
  return changed;
}

/** Reset the given fields (or all) to their defaults (a history entry when `history`, so Back undoes it). */
export function reset(names = [...fields.keys()], { history: push = false } = {}) {
  const patch = {};
  for (const name of names) patch[name] = clone(fields.get(name).def);
  return set(patch, { history: push });
}

/** The declared field `name` ({name, def, label?, show?, ...}), or undefined. */
export function field(name) {
  return fields.get(name);
}

/** Which of `names` hold something other than their default now. */
export function nonDefault(names) {
  return names.filter((name) => fields.has(name) && JSON.stringify(state[name]) !== JSON.stringify(fields.get(name).def));
}

/** fn(state, changedKeys) after every change. Returns an unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The hash that encodes the current state; only non-default values are written. */
export function encode(s = state) {
  const params = new URLSearchParams();
  for (const [name, field] of fields) {
    const value = s[name];
    if (JSON.stringify(value) === JSON.stringify(field.def)) continue;
    params.set(name, formatterFor(field)(value));
  }
  return params.toString();
}

const currentUrl = () => `${location.pathname}${location.search}#${encode()}`;

function scheduleWrite(push) {
  clearTimeout(writeTimer);
  // A change asked as a history entry (a preset, a reset, an undo) is written at once, so two
  // of them in quick succession stay two entries for Back; a plain change following it only
  // rewrites that entry. Plain changes are coalesced (slider drags): browsers rate-limit
  // history.replaceState.
  if (push) {
    history.pushState(null, "", currentUrl());
    return;
  }
  writeTimer = setTimeout(() => history.replaceState(null, "", currentUrl()), 120);
}

/** Write the URL now (e.g. before copying a share link). */
export function flush() {
  clearTimeout(writeTimer);
  history.replaceState(null, "", currentUrl());
}

/** The absolute link that reopens the current state. */
export function shareUrl() {
  return `${location.origin}${location.pathname}${location.search}#${encode()}`;
}

/** Re-read the state from the URL (on back/forward navigation). */
export function readFromUrl() {
  const fromUrl = decodeHash(location.hash);
  warnings = [];
  const patch = {};
  for (const [name, field] of fields) patch[name] = valueFromUrl(field, fromUrl);
  return set(patch);
}
