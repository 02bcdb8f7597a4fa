"""Training runs off the request path: one worker thread per running session.

A browser session (an unguessable id the page makes once per tab) owns at most
one run.  ``start`` builds a ``Trainer`` and a thread that runs batches until
the run finishes, is paused, or is abandoned; a paused run's thread ends and
frees its slot, ``resume`` starts a new one on the same weights.

Bounds, so that a class of students degrades gracefully:

- at most ``max_active`` threads at once; one more ``start``/``resume`` raises
  ``AtCapacity`` (the HTTP layer answers 503 "server at capacity");
- every run trains for at most ``max_seconds`` of wall-clock time in total;
- a run nobody is watching (no progress stream, no API call) for
  ``idle_seconds`` stops by itself, so a closed tab never holds a slot;
- at most ``max_kept`` finished runs are remembered (least recently seen go
  first), each a few hundred kilobytes at most: the history is thinned when it
  grows past ``MAX_POINTS``.

The Numba kernels release the GIL (``nogil=True``) and the threading layer is
thread-safe (``app/__init__.py``); processes would need fork, which OpenMP does
not survive.  Nothing here imports web code.

Two models train here (``MODELS``): the small 8×8 network (``small.Trainer``,
a curve point every ``EVAL_INTERVAL`` seconds, open-ended up to ``max_epochs``)
and the chapter's classifier (``chapter.Trainer``, a curve point per epoch with
validation and held-out accuracy, ending when its ``epochs`` are done).  At
about 3 s an epoch on a shared 2-core machine, the chapter's 30 epochs fit the
default 300 s time limit with room to spare.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app.errors import InvalidArgument
from app.labs.train import chapter, small

MODELS = ("small", "chapter")

MAX_POINTS = 600          # curve points kept per run (thinned by 2 beyond)
MAX_EPOCHS = 40           # a run ends here even inside its time budget
EVAL_INTERVAL = 0.4       # seconds between held-out evaluations / progress points
IDLE_SECONDS = 30.0       # stop a run nobody has looked at for this long


class AtCapacity(Exception):
    """Every training slot is busy."""


class RunError(Exception):
    """An action that does not fit the run's state (e.g. resume a finished run); ``status_code`` for HTTP."""

    def __init__(self, message: str, status_code: int = 409):
        super().__init__(message)
        self.status_code = status_code


@dataclass
class Run:
    """One session's training run; every field is guarded by ``lock``."""

    session: str
    trainer: "small.Trainer | chapter.Trainer"
    knobs: dict
    model: str = "small"
    max_epochs: float = MAX_EPOCHS   # the small network's end; the chapter's trainer knows its own
    state: str = "paused"            # running | paused | done | stopped | failed
    reason: str = ""
    points: list = field(default_factory=list)   # [{"step", "epoch", "loss", "accuracy", "time", ...}]
    thinned: int = 0                 # how many times the history was halved
    trained_seconds: float = 0.0     # wall-clock time spent running batches
    last_seen: float = 0.0
    version: int = 0                 # bumped on every change a viewer should see
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class TrainSessions:
    """The server's training runs, keyed by session id."""

    def __init__(self, max_active: int = 4, max_seconds: float = 300.0, idle_seconds: float = IDLE_SECONDS,
                 max_kept: int = 64, max_epochs: float = MAX_EPOCHS, clock=time.monotonic):
        self.max_active = max_active
        self.max_seconds = max_seconds
        self.idle_seconds = idle_seconds
        self.max_kept = max_kept
        self.max_epochs = max_epochs
        self.clock = clock
        self.runs: dict[str, Run] = {}
        self.lock = threading.Lock()   # guards ``runs`` and slot accounting

    # ----------------------------------------------------------------- public actions

    def start(self, session: str, model: str = "small", **knobs) -> Run:
        """A fresh run (replacing this session's old one) with new weights, started at once.

        ``knobs`` are the trainer's: for ``small`` lr, batch_size, filters,
        optimizer, seed and epochs (its end, default ``max_epochs``); for
        ``chapter`` lr, batch_size, seed, epochs, batch_norm, dropout, augment and init
        (missing ones take the chapter's defaults).  ValueError on a bad value.
        """
        trainer, knobs, max_epochs = make_trainer(model, self.max_epochs, knobs)
        with self.lock:
            old = self.runs.get(session)
            self._check_capacity(exclude=old)
        self.reset(session)
        run = Run(session, trainer, knobs, model=model, max_epochs=max_epochs, last_seen=self.clock())
        self._record(run)  # the untrained starting point of the curves
        with self.lock:
            self._evict()
            self.runs[session] = run
            self._launch(run)
        return run

    def pause(self, session: str) -> Run:
        run = self.get(session)
        with run.lock:
            if run.state != "running":
                raise RunError(f"the run is {run.state}, not running; nothing to pause")
            run.state, run.reason = "paused", "paused by you"
            run.version += 1
        run.stop.set()
        self._join(run)
        return run

    def resume(self, session: str) -> Run:
        run = self.get(session)
        with run.lock:
            if run.state == "running":
                return run
            if run.state == "done":
                raise RunError(f"the run is finished ({run.reason}); press Reset or Start to train again")
        with self.lock:
            self._launch(run)
        return run

    def reset(self, session: str) -> None:
        """Stop and forget this session's run (no error when there is none)."""
        with self.lock:
            run = self.runs.pop(session, None)
        if run is not None:
            run.stop.set()
            self._join(run)

    def configure(self, session: str, lr: float | None = None, batch_size: int | None = None) -> Run:
        """Change the learning rate or batch size of a run, applied from its next batch."""
        run = self.get(session)
        with run.lock:
            if lr is not None:
                run.trainer.lr = run.knobs["lr"] = lr
            if batch_size is not None:
                run.trainer.batch_size = run.knobs["batch_size"] = batch_size
            run.version += 1
        return run

    def get(self, session: str) -> Run:
        with self.lock:
            run = self.runs.get(session)
        if run is None:
            raise RunError("no training run for this page yet: press Start", status_code=404)
        run.last_seen = self.clock()
        return run

    def find(self, session: str) -> Run | None:
        with self.lock:
            return self.runs.get(session)

    def touch(self, run: Run) -> None:
        run.last_seen = self.clock()

    def active_count(self) -> int:
        with self.lock:
            return sum(r.active for r in self.runs.values())

    def params(self, session: str) -> dict[str, np.ndarray]:
        """A consistent copy of the run's current weights (for predictions while it trains)."""
        run = self.get(session)
        with run.lock:
            return {k: v.copy() for k, v in run.trainer.params.items()}

    def weights(self, session: str) -> tuple[dict[str, np.ndarray], dict]:
        """A consistent copy of the run's weights by name, and where the run stands (for the Inside lab).

        Works for any trainer: one with a ``model`` offering ``state_dict()``
        (the chapter's classifier, running statistics included) or one with a
        ``params`` dict (the small network).  A run still training answers with
        the weights of its last finished batch.
        """
        run = self.get(session)
        with run.lock:
            trainer = run.trainer
            model = getattr(trainer, "model", None)
            if model is not None and hasattr(model, "state_dict"):
                state = model.state_dict()
            else:
                state = {k: v.copy() for k, v in trainer.params.items()}
            return state, {"state": run.state, "reason": run.reason, "version": run.version, "step": trainer.step,
                           "epoch": trainer.epoch}

    def snapshot(self, run: Run, since: int = 0) -> dict:
        """What a viewer needs: state, knobs, curve points from index ``since`` on, first-layer filters.

        ``next`` is the ``since`` of the following call; when ``thinned`` changed
        since the viewer's last call, the old indices are void: ask with since=0.
        """
        with run.lock:
            points = run.points[since:]
            last = run.points[-1] if run.points else None
            return {
                "session": run.session,
                "model": model_of(run.trainer),
                "state": run.state,
                "reason": run.reason,
                "knobs": dict(run.knobs),
                "step": run.trainer.step,
                "epoch": run.trainer.epoch,
                "accuracy": last["accuracy"] if last else None,
                "loss": last["loss"] if last else None,
                "trained_seconds": run.trained_seconds,
                "max_seconds": self.max_seconds,
                "max_epochs": end_epoch(run),
                "points": points,
                "next": len(run.points),
                "thinned": run.thinned,
                "filters": first_layer_filters(run.trainer).tolist(),
                "version": run.version,
            }

    def shutdown(self) -> None:
        with self.lock:
            runs = list(self.runs.values())
        for run in runs:
            run.stop.set()
        for run in runs:
            self._join(run)

    # ----------------------------------------------------------------- the worker

    def _launch(self, run: Run) -> None:
        """Start run's thread; caller holds ``self.lock``."""
        self._check_capacity(exclude=run)
        if run.trained_seconds >= self.max_seconds:
            raise RunError(f"the run used its {self.max_seconds:.0f} s of training time; press Start to train again")
        run.stop = threading.Event()
        with run.lock:
            run.state, run.reason = "running", ""
            run.version += 1
        run.last_seen = self.clock()
        run.thread = threading.Thread(target=self._work, args=(run, run.stop), name=f"train-{run.session[:8]}",
                                      daemon=True)
        run.thread.start()

    def _check_capacity(self, exclude: Run | None) -> None:
        """Raise AtCapacity when every slot is taken by runs other than ``exclude``; caller holds ``self.lock``."""
        busy = sum(r.active for r in self.runs.values() if r is not exclude)
        if busy >= self.max_active:
            raise AtCapacity(
                f"server at capacity: {busy} training runs are active (the limit is {self.max_active}); "
                f"try again in a minute — a run stops after {self.max_seconds:.0f} s of training or when paused"
            )

    def _join(self, run: Run) -> None:
        t = run.thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)

    def _work(self, run: Run, stop: threading.Event) -> None:
        try:
            self._loop(run, stop)
        except Exception as exc:  # noqa: BLE001 - a failed run reports itself; the server keeps going
            with run.lock:
                run.state, run.reason = "failed", f"training failed: {exc}"
                run.version += 1

    def _loop(self, run: Run, stop: threading.Event) -> None:
        trainer = run.trainer
        next_eval = self.clock() + EVAL_INTERVAL
        while not stop.is_set():
            now = self.clock()
            end = None
            if run.trained_seconds >= self.max_seconds:
                end = ("done", f"time limit of {self.max_seconds:.0f} s reached")
            elif trainer.epoch >= end_epoch(run) or getattr(trainer, "done", False):
                end = ("done", f"finished {end_epoch(run):g} epochs")
            elif now - run.last_seen > self.idle_seconds:
                end = ("stopped", f"stopped after {self.idle_seconds:.0f} s with nobody watching; press Resume")
            if end:
                self._record(run)
                with run.lock:
                    run.state, run.reason = end
                    run.version += 1
                return
            t0 = self.clock()
            with run.lock:
                epochs_before = len(getattr(trainer, "history", ()))
                trainer.run_batch()
                epoch_ended = len(getattr(trainer, "history", ())) > epochs_before
            if epoch_ended:
                self._record(run)  # the chapter's trainer measured this epoch already: a cheap point
            elif not hasattr(trainer, "history") and self.clock() >= next_eval:
                self._record(run)
                next_eval = self.clock() + EVAL_INTERVAL
            run.trained_seconds += self.clock() - t0
            time.sleep(0)  # let request threads take the GIL between batches

    def _record(self, run: Run) -> None:
        """Append one curve point.

        Small network: training loss on a fixed subset and held-out accuracy,
        measured now.  Chapter model: its last epoch's record (Keras's ``loss``,
        the mean over the epoch's batches, plus validation and held-out
        accuracy); before the first epoch, the untrained network measured now.
        """
        with run.lock:
            t = run.trainer
            history = getattr(t, "history", None)
            if history is None:
                point = {"loss": t.train_loss(), "accuracy": t.test_accuracy()}
            elif history and history[-1]["step"] == t.step:
                h = history[-1]
                point = {"loss": h["loss"], "accuracy": h["test_accuracy"], "val_accuracy": h["val_accuracy"],
                         "val_loss": h["val_loss"], "train_accuracy": h["accuracy"]}
            else:
                point = {"loss": float(t.train_loss()), "accuracy": t.test_accuracy(),
                         "val_accuracy": t.validation_accuracy()}
            point = {"step": t.step, "epoch": round(t.epoch, 4), **point, "time": round(run.trained_seconds, 3)}
            if run.points and run.points[-1]["step"] == t.step:
                run.points[-1] = point  # the same step measured twice (a run's end after its last epoch)
            else:
                run.points.append(point)
            if len(run.points) > MAX_POINTS:
                # Keep every other point; viewers re-read the whole curve when ``thinned`` changes.
                run.points = run.points[::2]
                run.thinned += 1
            run.version += 1

    def _evict(self) -> None:
        """Forget the least recently seen inactive runs beyond ``max_kept``; caller holds ``self.lock``."""
        idle = sorted((r for r in self.runs.values() if not r.active), key=lambda r: r.last_seen)
        while len(self.runs) >= self.max_kept and idle:
            self.runs.pop(idle.pop(0).session, None)


# --------------------------------------------------------------------------- the two models


def make_trainer(model: str, max_epochs: float, knobs: dict):
    """(trainer, the knobs it runs with, the epoch it ends at) for ``model``; InvalidArgument on bad values."""
    given = {k: v for k, v in knobs.items() if v is not None}
    if model == "small":
        allowed = {"lr", "batch_size", "filters", "optimizer", "seed", "epochs"}
        defaults = {k: small.DEFAULTS[k] for k in ("lr", "batch_size", "filters", "optimizer", "seed")}
    elif model == "chapter":
        allowed = {"lr", "batch_size", "seed", "epochs", "batch_norm", "dropout", "augment", "init"}
        defaults = {k: chapter.DEFAULTS[k] for k in allowed}
    else:
        raise InvalidArgument(f'model must be "small" or "chapter"; got {model!r}')
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise InvalidArgument(f"the {model} model has no knob {', '.join(unknown)}")
    used = {**defaults, **given}
    if model == "small":
        end = float(used.pop("epochs", max_epochs))
        if not 0 < end <= max_epochs:
            raise InvalidArgument(f"epochs must be between 1 and {max_epochs:g}; got {end:g}")
        trainer = small.Trainer(**used)
        return trainer, {**used, "epochs": end}, end
    if not 1 <= used["epochs"] <= max_epochs:
        raise InvalidArgument(f"epochs must be between 1 and {max_epochs:g}; got {used['epochs']}")
    trainer = chapter.Trainer(**used)
    return trainer, used, float(used["epochs"])


def model_of(trainer) -> str:
    """Which of ``MODELS`` a trainer trains."""
    return "chapter" if isinstance(trainer, chapter.Trainer) else "small"


def end_epoch(run: Run) -> float:
    """The epoch at which ``run`` is done."""
    epochs = getattr(run.trainer, "epochs", None)
    return float(epochs) if epochs is not None else run.max_epochs


def first_layer_filters(trainer) -> np.ndarray:
    """The first conv layer's kernels, (F, 3, 3): 32 for the chapter's model, F for the small one."""
    if hasattr(trainer, "first_layer_filters"):
        return trainer.first_layer_filters()
    return trainer.params["w1"][:, 0]
