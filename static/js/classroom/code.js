// Code export: NumPy and PyTorch snippets for the Convolution lab's current layer,
// and a parity badge saying how far ConvLab's numbers are from an independent
// computation (the server's slow reference; PyTorch when installed).

import { postJSON } from "../api.js";
import * as state from "../state.js";
import { el } from "../ui.js";
import { t } from "../strings.js";
import { fmt } from "../heatmap.js";
import { copyButton, makeDialog } from "./dialog.js";
import { numpySnippet, torchSnippet } from "./code-snippets.js";

/** The body the Convolution lab would send for state `s` (read through the lab's own model module). */
export async function convRequestBody(s) {
  const model = await import("../labs/conv/model.js");
  return model.labRequestBody(s);
}

export function mountCode() {
  const status = el("p", { class: "hint", role: "status", "aria-live": "polite" });
  const numpyCode = el("code", { "data-testid": "code-numpy" });
  const torchCode = el("code", { "data-testid": "code-torch" });
  const badge = el("div", { class: "parity-badge", "data-testid": "parity-badge", role: "status", "aria-live": "polite" });
  const ui = makeDialog({
    title: t("code.title"),
    testid: "code-dialog",
    wide: true,
    onClose: () => state.get().tool === "code" && state.set({ tool: "" }),
  });
  const block = (label, code, testid) => el("section", { class: "code-block", "aria-label": label },
    el("div", { class: "row" }, el("h3", { class: "panel-title" }, label),
      copyButton(() => code.textContent, { testid, statusEl: status })),
    el("pre", { tabindex: "0" }, code));
  ui.body.append(
    el("p", { class: "hint" }, t("code.intro")),
    el("h3", { class: "panel-title" }, t("code.parityTitle")),
    badge,
    el("div", { class: "code-pair" }, block(t("code.numpy"), numpyCode, "copy-numpy"), block(t("code.torch"), torchCode, "copy-torch")),
    status,
  );

  function line(ok, text, testid) {
    return el("p", { class: ok === null ? "" : ok ? "ok" : "bad", "data-testid": testid }, text);
  }

  async function parity(body) {
    badge.replaceChildren(el("p", {}, t("code.parityChecking")));
    badge.dataset.state = "checking";
    try {
      // The slow reference answers at once; PyTorch (whose first import takes seconds) follows.
      const r = await postJSON("/api/parity", { ...body, torch: false }, { key: "classroom-parity" });
      const tol = 1e-5 * Math.max(1, r.max_abs_value);
      const refOk = r.reference.max_abs_diff <= tol;
      const torchLine = line(null, t("code.parityTorchPending"), "parity-torch-pending");
      badge.replaceChildren(line(refOk, `${t("code.parityRef", { diff: fmt(r.reference.max_abs_diff, 3) })} (${t(refOk ? "code.parityGood" : "code.parityBad")})`, "parity-ref"), torchLine);
      badge.dataset.state = refOk ? "ok" : "bad";
      const withTorch = await postJSON("/api/parity", body, { key: "classroom-parity" });
      if (withTorch.torch.available) {
        const ok = withTorch.torch.max_abs_diff <= tol;
        torchLine.replaceWith(line(ok, `${t("code.parityTorch", { version: withTorch.torch.version, diff: fmt(withTorch.torch.max_abs_diff, 3) })} (${t(ok ? "code.parityGood" : "code.parityBad")})`, "parity-torch"));
      } else {
        torchLine.replaceWith(line(null, t("code.parityNoTorch"), "parity-torch"));
      }
    } catch (err) {
      if (err?.superseded) return;
      badge.replaceChildren(line(false, t("code.parityFailed", { message: err.detail || err.message }), "parity-ref"));
      badge.dataset.state = "error";
    }
  }

  async function open() {
    status.textContent = "";
    let body;
    try {
      body = await convRequestBody(state.get());
    } catch (err) {
      numpyCode.textContent = "";
      torchCode.textContent = "";
      badge.replaceChildren(line(false, `${t("code.noConv")} (${err.message})`, "parity-ref"));
      ui.open();
      return;
    }
    numpyCode.textContent = numpySnippet(body, location.origin);
    torchCode.textContent = torchSnippet(body, location.origin);
    ui.open();
    parity(body);
  }

  return { open, close: ui.close, isOpen: ui.isOpen };
}
