// The limits a value read from the URL must respect, per state field, mirroring the
// server's request schemas (app/schemas/) and the page's own controls. state.js applies
// them when a link or a reload sets a field: wrong kinds fall back to the default,
// numbers are clamped, and the page says which field it changed.
//
// {min, max}: numbers, and every number of a list field; options: the strings allowed;
// maxLength: list elements or characters; check(value) -> value (possibly adjusted) or
// undefined when unusable. A lab may also declare these in its own FIELDS table.

import { BW_PRESETS } from "./labs/backward/kernel.js";
import { PRESETS } from "./presets.js";

const SEED = { min: 0, max: 2 ** 32 - 1 };
const INDEX = { min: 0, max: 4095 };
const PRESET_IDS = PRESETS.map((p) => p.id);

/** A padding text ("1", "2,3", "same", "valid") with every number clamped to [0, max]. */
const paddingText = (max) => (text) => {
  const s = String(text).trim().toLowerCase();
  if (s === "same" || s === "valid") return s;
  const parts = s.split(/[,×x\s]+/).filter(Boolean).map(Number);
  if (!parts.length || parts.length > 2 || !parts.every((p) => Number.isInteger(p) && p >= 0)) return undefined;
  const clamped = parts.map((p) => Math.min(max, p));
  return clamped.every((p, i) => p === parts[i]) ? text : clamped.join(",");
};

export const URL_LIMITS = {
  lab: { options: ["conv", "pool", "backward", "network", "equivariance", "train", "inside", "family"] },
  color: { options: ["gray", "rgb"] },
  maxSide: { min: 8, max: 1024 }, // CONVLAB_MAX_SIDE_LIMIT by default

  // Convolution (templates/labs/conv.html; app/schemas/compute.py)
  "conv.k": { min: 1, max: 15 },
  "conv.sel": { min: 0, max: 15 },
  "conv.seed": SEED,
  "conv.stride": { min: 1, max: 16 },
  "conv.pad": { check: paddingText(32) },
  "conv.dil": { min: 1, max: 16 },
  "conv.groups": { min: 1, max: 16 },
  "conv.filters": { maxLength: 16 },
  "conv.bias": { min: -1e6, max: 1e6, maxLength: 16 },
  "conv.pxch": { min: 0, max: 2 },
  "conv.at": { ...INDEX, maxLength: 3 },
  "conv.speed": { min: 1, max: 30 },
  "conv.cmap": { options: ["auto", "diverging", "viridis", "gray"] },

  // Pooling
  "pool.k": { min: 1, max: 16 },
  "pool.s": { min: 1, max: 16 },
  "pool.p": { min: 0, max: 8 },
  "pool.at": { ...INDEX, maxLength: 2 },
  "pool.ch": { min: 0, max: 2 },
  "pool.shift": { min: 0, max: 16 },

  // Backward
  "bw.src": { options: ["image", "chapter"] },
  "bw.preset": { options: BW_PRESETS.map((p) => p.id) },
  "bw.k": { min: 1, max: 7 },
  "bw.s": { min: 1, max: 8 },
  "bw.p": { check: paddingText(8) },
  "bw.d": { min: 1, max: 8 },
  "bw.at": { ...INDEX, maxLength: 3 },
  "bw.seed": SEED,
  "bw.step": { min: 1e-10, max: 0.1 },
  "bw.ch": { min: 0, max: 2 },

  // Network
  "net.sel": { min: -1, max: 63 },
  "net.unit": { ...INDEX, maxLength: 4 },
  "net.seed": SEED,
  "net.show": { min: 1, max: 64 },

  // Equivariance (app/schemas/equivariance.py)
  "eq.dy": { min: -16, max: 16 },
  "eq.dx": { min: -16, max: 16 },
  "eq.kernel": { options: PRESET_IDS },
  "eq.k": { min: 1, max: 7 },
  "eq.pad": { min: 0, max: 7 },
  "eq.stride": { min: 1, max: 4 },
  "eq.pool": { min: 0, max: 4 },

  // Train (app/schemas/train.py)
  "train.lr": { min: 1e-6, max: 1 },
  "train.batch": { min: 1, max: 512 },
  "train.filters": { min: 1, max: 32 },
  "train.digit": { min: -1, max: 9 },

  // More: transposed convolution and its extras (static/js/labs/family/)
  "family.t.n": { min: 1, max: 6 },
  "family.t.k": { min: 1, max: 5 },
  "family.t.s": { min: 1, max: 4 },
  "family.t.p": { min: 0, max: 8 },
  "family.t.op": { min: 0, max: 3 },
  "family.t.d": { min: 1, max: 3 },
  "family.t.seed": { min: 0, max: 9999 },
  "family.t.step": { min: -1, max: 4096 },
  "family.t.cell": { ...INDEX, maxLength: 2 },
  "family.tb.delta": { options: ["random", "ones", "onehot"] },
  "family.tb.x": { ...INDEX, maxLength: 2 },
  "family.tb.w": { ...INDEX, maxLength: 2 },
  "family.cb.n": { min: 2, max: 12 },
  "family.gi.n": { min: 2, max: 12 },
  "family.g.cin": { min: 1, max: 64 },
  "family.g.cout": { min: 1, max: 64 },
  "family.g.k": { min: 1, max: 7 },
  "family.g.hw": { min: 1, max: 512 },
  "family.g.groups": { min: 1, max: 64 },
  "family.c1.row": { min: 0, max: 1023 },
  "family.c1.col": { min: 0, max: 1023 },
  "family.c1.s": { min: 1, max: 8 },
  "family.c1.p": { min: 0, max: 16 },
  "family.c1.d": { min: 1, max: 8 },
  "family.c1.kernel": { min: -1e6, max: 1e6, maxLength: 64 },
  "family.c1.typed": { min: -1e6, max: 1e6, maxLength: 1024 },
  "family.f.k": { min: 1, max: 9 },
  "family.f.s": { min: 1, max: 6 },
  "family.f.d": { min: 1, max: 4 },
  "family.f.p": { min: 0, max: 8 },
  "family.f.pk": { min: 1, max: 8 },
  "family.f.ps": { min: 1, max: 8 },
  "family.f.pp": { min: 0, max: 4 },
};
