// Step-through animation of the sliding window: play, pause, step, back, first,
// speed. The position is the chosen output pixel (conv.at), so the receptive
// field, the multiply-add and the map highlight all follow it; cells the window
// has not reached yet are veiled, and the previous window stays faintly drawn so
// a stride jump is visible.

export function mountAnimation(root, { state, getShape, onFrame }) {
  const $ = (sel) => root.querySelector(sel);
  const play = $(".conv-anim-play");
  const speed = $(".conv-anim-speed input");
  const pos = $(".conv-anim-pos");
  let timer = null;
  let active = false; // the veil shows while the animation is in use

  function position() {
    const at = state.get()["conv.at"];
    const shape = getShape();
    if (!shape || at.length !== 3 || at[1] >= shape.hOut || at[2] >= shape.wOut) return -1;
    return at[1] * shape.wOut + at[2];
  }

  function go(index) {
    const shape = getShape();
    if (!shape) return;
    const total = shape.hOut * shape.wOut;
    const i = Math.max(0, Math.min(total - 1, index));
    const at = state.get()["conv.at"];
    const f = at.length === 3 ? at[0] : state.get()["conv.sel"];
    active = true;
    state.set({ "conv.at": [f, Math.floor(i / shape.wOut), i % shape.wOut] });
    onFrame();
    if (i >= total - 1) stop();
  }

  function tick() {
    const shape = getShape();
    if (!shape) return stop();
    go(position() + 1);
  }

  function start() {
    const shape = getShape();
    if (!shape) return;
    if (position() >= shape.hOut * shape.wOut - 1 || position() < 0) go(0);
    const fps = Number(state.get()["conv.speed"]) || 4;
    clearInterval(timer);
    timer = setInterval(tick, 1000 / Math.max(1, Math.min(30, fps)));
    play.textContent = "❚❚";
    play.setAttribute("aria-label", "Pause");
    play.setAttribute("aria-pressed", "true");
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    play.textContent = "▶";
    play.setAttribute("aria-label", "Play");
    play.setAttribute("aria-pressed", "false");
  }

  play.addEventListener("click", () => (timer ? stop() : start()));
  $(".conv-anim-step").addEventListener("click", () => {
    stop();
    go(position() + 1);
  });
  $(".conv-anim-back").addEventListener("click", () => {
    stop();
    go(position() - 1);
  });
  $(".conv-anim-first").addEventListener("click", () => {
    stop();
    go(0);
  });
  speed.addEventListener("input", () => {
    state.set({ "conv.speed": Number(speed.value) });
    if (timer) start();
  });

  return {
    /** `jump`: [rows, cols] the window moved in padded pixels since the last step (or null). */
    render(s, jump = null) {
      if (document.activeElement !== speed) speed.value = String(s["conv.speed"]);
      const shape = getShape();
      const i = position();
      if (!shape) pos.textContent = "";
      else if (i < 0) pos.textContent = `${shape.hOut * shape.wOut} positions`;
      else {
        const plural = (n, word) => `${n > 0 ? "+" : n < 0 ? "−" : ""}${Math.abs(n)} ${word}${Math.abs(n) === 1 ? "" : "s"}`;
        const moved = !jump ? "" : jump[0] ? ` · jumped ${plural(jump[0], "row")}, ${plural(jump[1], "col")}` : ` · jumped ${plural(jump[1], "col")}`;
        pos.textContent = `step ${i + 1} / ${shape.hOut * shape.wOut} · ${s["conv.speed"]}/s${moved}`;
      }
    },
    /** The veil's raster index (null when the animation is not in use). */
    progress: () => (active ? position() : null),
    get playing() {
      return timer !== null;
    },
    toggle: () => (timer ? stop() : start()),
    stop,
    /** A click elsewhere (or a knob change) ends the animation view. */
    release() {
      stop();
      active = false;
    },
  };
}
