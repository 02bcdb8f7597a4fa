"""Ready-made lessons that follow the chapter: each one is a link into a lab state.

A lesson is data only: the lab, the state fields to set, the controls to lock or
hide (their ``data-testid``s) and a short caption the page shows as text. The
gallery page (GET /lessons) renders them; nothing is stored on the server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    equations: str                     # chapter equations it illustrates, e.g. "36.3"
    summary: str                       # one or two sentences for the gallery card
    lab: str
    state: dict = field(default_factory=dict)   # lab state fields (URL names) -> value
    lock: tuple[str, ...] = ()         # data-testids to disable
    hide: tuple[str, ...] = ()         # data-testids to hide
    caption: str = ""
    compare: tuple[dict, dict] | None = None   # two states for the side-by-side view

    def fragment(self) -> str:
        """The URL hash (without '#') that opens this lesson in the explorer."""
        params = {"lab": self.lab, **{k: _fmt(v) for k, v in self.state.items()}}
        if self.lock:
            params["lock"] = ",".join(self.lock)
        if self.hide:
            params["hide"] = ",".join(self.hide)
        if self.caption:
            params["caption"] = self.caption
        return urlencode(params, quote_via=quote)

    @property
    def lab_name(self) -> str:
        return LAB_NAMES.get(self.lab, self.lab)

    def href(self) -> str:
        return "/#" + self.fragment()

    def compare_href(self) -> str | None:
        if not self.compare:
            return None
        a, b = ({"lab": self.lab, **{k: _fmt(v) for k, v in s.items()}} for s in self.compare)
        params = {"a": urlencode(a, quote_via=quote), "b": urlencode(b, quote_via=quote)}
        if self.caption:
            params["caption"] = self.caption
        return "/compare#" + urlencode(params, quote_via=quote)


LAB_NAMES = {"conv": "Convolution", "pool": "Pooling", "backward": "Backward", "network": "Network",
             "equivariance": "Equivariance", "train": "Train", "family": "More of the family"}


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


LESSONS: list[Lesson] = [
    Lesson(
        slug="what-a-kernel-does",
        title="What a kernel does",
        equations="36.1–36.3",
        summary="Slide a Sobel kernel over the bright square: it answers only where brightness changes "
                "from left to right. Click an output pixel to see the multiply-add that made it.",
        lab="conv",
        state={"image": "sample-square", "conv.filters": "sobel-x"},
        caption="A kernel is a small pattern detector: Sobel-x lights up at vertical edges. "
                "Click any output pixel to see the nine products that sum to it.",
    ),
    Lesson(
        slug="why-14x14",
        title="Why the output is 14 × 14",
        equations="36.4",
        summary="A 3×3 kernel on a 16×16 input with no padding fits in 14 positions per row. "
                "The output-size formula shows the numbers.",
        lab="conv",
        state={"image": "sample-square", "conv.filters": "box", "conv.k": 3, "conv.pad": 0, "conv.stride": 1},
        lock=("kernel-size", "padding", "stride"),
        caption="16 − 3 + 1 = 14: the kernel has 14 places to stand in each row and column.",
    ),
    Lesson(
        slug="stride-and-padding",
        title="Stride and padding",
        equations="36.4",
        summary="Turn stride and padding and watch the formula: stride divides, padding adds, "
                "and the floor silently drops what does not fit.",
        lab="conv",
        state={"image": "sample-square", "conv.filters": "sobel-x", "conv.stride": 2, "conv.pad": 1},
        hide=("kernel-preset",),
        caption="Stride skips positions, padding adds a border. Predict the output size before you move a knob.",
        compare=({"image": "sample-square", "conv.filters": "sobel-x", "conv.stride": 1},
                 {"image": "sample-square", "conv.filters": "sobel-x", "conv.stride": 2}),
    ),
    Lesson(
        slug="parameters-vs-dense",
        title="Parameters: convolution against a dense layer",
        equations="36.5–36.6",
        summary="The same input and output sizes cost a handful of shared weights in a conv layer "
                "and millions in a dense layer.",
        lab="conv",
        state={"image": "sample-camera", "maxSide": 64, "conv.filters": "sobel-x,sobel-y"},
        caption="Weight sharing: one kernel is reused at every position, so the count does not grow with the image.",
    ),
    Lesson(
        slug="pooling",
        title="Pooling summarises a window",
        equations="36.7",
        summary="Max pooling keeps the winner of every window; average pooling keeps the mean. "
                "Shift the input a little and most of the pooled output stays put.",
        lab="pool",
        state={"image": "sample-checkerboard", "pool.kind": "max", "pool.k": 2, "pool.s": 2},
        caption="Each output cell is the largest value in its window. Which input cell won?",
    ),
    Lesson(
        slug="receptive-fields-grow",
        title="Receptive fields grow with depth",
        equations="36.8",
        summary="Stack 3×3 convolutions: each layer adds two pixels to what a unit sees; pooling multiplies the growth.",
        lab="network",
        caption="L stacked 3×3 convolutions see 1 + 2L pixels; a pooling layer doubles every later step.",
    ),
    Lesson(
        slug="gradient-is-a-convolution",
        title="The gradient is a convolution",
        equations="36.9–36.10",
        summary="The weight gradient correlates the input with δ; the input gradient is δ convolved with the flipped kernel.",
        lab="backward",
        state={"bw.delta": "one_hot"},
        caption="Backward through a convolution is two more convolutions: compare the three panels.",
    ),
    Lesson(
        slug="equivariance",
        title="Shift the input, the output shifts",
        equations="36.3",
        summary="Convolution commutes with translation away from the border, exactly with circular padding; "
                "stride breaks it.",
        lab="equivariance",
        state={"eq.mode": "zeros", "eq.stride": 1},
        caption="conv(shift(x)) and shift(conv(x)) agree everywhere except near the border.",
        compare=({"eq.mode": "zeros"}, {"eq.mode": "circular"}),
    ),
    Lesson(
        slug="filters-learn-edges",
        title="A network learns its own edge filters",
        equations="36.9",
        summary="Train the small CNN on 8×8 handwritten digits and watch its first-layer 3×3 filters "
                "turn from noise into edge and stroke detectors, like the hand-made Sobel kernels.",
        lab="train",
        state={"train.filters": 8, "train.opt": "adam", "train.lr": 0.01},
        lock=("train-filters", "train-optimizer", "train-lr", "train-batch"),
        caption="Press Start. Nobody tells the network what an edge is: gradient descent (eq. 36.9) "
                "finds edge-like filters because they help it tell the digits apart.",
    ),
]


def by_slug(slug: str) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.slug == slug), None)
