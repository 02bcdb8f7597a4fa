// Every user-visible string of the page shell and the classroom modules, in one
// place so the page can be translated: replace this table (same keys) and reload.
// Placeholders are written {name} and filled by t(key, {name: value}).

export const STRINGS = {
  // Shell
  "shell.skip": "Skip to the lab",
  "nav.conv": "Convolution",
  "nav.pool": "Pooling",
  "nav.backward": "Backward",
  "nav.network": "Network",
  "nav.equivariance": "Equivariance",
  "nav.train": "Train",
  "nav.inside": "Inside",
  "nav.family": "More",
  "shell.present": "Present",
  "shell.presentTitle": "Presentation mode (P)",
  "shell.share": "Share link",
  "shell.shareTitle": "Copy a link that reopens this exact state",
  "shell.lessons": "Lessons gallery",
  "shell.lessonsTitle": "Ready-made lessons that follow the chapter",
  "shell.linkCopied": "Copied to the clipboard: the link reopens this exact state.",
  "shell.linkCopyByHand": "Select the link and copy it (Ctrl+C / ⌘C): it reopens this exact state.",
  "shell.linkUpdated": "The link follows your changes: copy it again when you are done.",
  "shell.couldNotStart": "ConvLab could not start: {message}",
  "shell.labFailed": "This lab could not start: {message}",
  "shell.classroomFailed": "The classroom tools could not start: {message}",

  // Image picker
  "picker.uploaded": "(uploaded image)",
  "picker.uploading": "Uploading {name}…",
  "picker.loaded": "Loaded {name}: {h} × {w}, {kind}",
  "picker.gray": "gray",
  "picker.colour": "colour",
  "picker.meta": "{h} × {w} px · {kind} · {mode}",
  "picker.metaShrunk": "{h} × {w} px (from {h0} × {w0}) · {kind} · {mode}",

  "picker.usedGray": "used as gray",
  "picker.usedRgb": "used as RGB",
  "picker.usedRgbOfGray": "used as RGB (3 equal channels)",
  "picker.graySource": "gray image",
  "picker.rgbSource": "colour image",

  // Shared dialog words
  "dialog.close": "Close",
  "dialog.copy": "Copy",
  "dialog.copied": "Copied to the clipboard.",
  "dialog.copyFailed": "Copying was blocked by the browser: select the text and press Ctrl+C.",

  // Classroom toolbar
  "tools.label": "Classroom tools",
  "tools.menu": "Classroom",
  "tools.exercise": "Exercise",
  "tools.exerciseTitle": "Predict a number, then reveal it (E)",
  "tools.teacher": "Teacher link…",
  "tools.teacherTitle": "Compose a link that fixes this configuration, locks or hides controls and shows a caption",
  "tools.compare": "Compare side by side",
  "tools.compareTitle": "Open this configuration twice, side by side",
  "tools.code": "Code export and parity…",
  "tools.codeTitle": "NumPy and PyTorch code that reproduce the Convolution lab's numbers",
  "tools.classStart": "Start a class (phones answer)",
  "tools.classStartTitle": "Every student answers on their phone; the projector shows the class's answers",
  "tools.learn": "Learn a filter…",
  "tools.learnTitle": "Recover a hidden kernel by gradient descent",

  // Teacher links
  "teacher.captionLabel": "Teacher's note",
  "teacher.locked": "Locked by the teacher's link",
  "teacher.dialogTitle": "Teacher link",
  "teacher.intro": "The link opens the lab exactly as it is now. Tick controls to lock (visible, not changeable) or hide them, and add a short caption.",
  "teacher.control": "Control",
  "teacher.lock": "Lock",
  "teacher.hide": "Hide",
  "teacher.captionField": "Caption (text only, at most {max} characters)",
  "teacher.link": "Link",
  "teacher.open": "Open in a new tab",
  "teacher.noControls": "This lab has no controls to lock yet.",
  "teacher.galleryLink": "Ready-made lessons",

  // Exercises
  "ex.title": "Exercise",
  "ex.seed": "Exercise #{seed}",
  "ex.answerLabel": "Your answer",
  "ex.check": "Check",
  "ex.reveal": "Show the answer",
  "ex.fresh": "New exercise",
  "ex.right": "Right: {answer}.",
  "ex.wrong": "Not quite: you said {given}, the answer is {answer}.",
  "ex.revealed": "The answer is {answer}.",
  "ex.notANumber": "Type a number first (for example 14 or 0.5).",
  "ex.working": "Worked arithmetic",
  "ex.otherLab": "Exercises are in the Convolution, Pooling and Network labs.",
  "ex.goConv": "Convolution exercises",
  "ex.goPool": "Pooling exercises",
  "ex.goNetwork": "Network exercises",
  "ex.copyLink": "Copy this exercise's link",
  "ex.kind.any": "Any kind",
  "ex.kind.size": "Output size",
  "ex.kind.params": "Parameter count",
  "ex.kind.rf": "Receptive field",
  "ex.kind.cell": "One output value",
  "ex.kindLabel": "Kind",

  // Code export
  "code.title": "Code that reproduces these numbers",
  "code.numpy": "NumPy",
  "code.torch": "PyTorch",
  "code.intro": "Both snippets recompute the Convolution lab's current output. They read the image's exact pixels from this ConvLab server.",
  "code.parityTitle": "Parity",
  "code.parityChecking": "Checking against an independent computation…",
  "code.parityRef": "ConvLab vs slow NumPy reference (float64): max |difference| = {diff}",
  "code.parityTorch": "ConvLab vs PyTorch {version}: max |difference| = {diff}",
  "code.parityNoTorch": "PyTorch: not installed on this server.",
  "code.parityTorchPending": "PyTorch: checking (its first start on the server takes a few seconds)…",
  "code.parityGood": "agrees to float32 precision",
  "code.parityBad": "differs more than float32 rounding explains",
  "code.parityFailed": "The parity check failed: {message}",
  "code.noConv": "The Convolution lab is not available, so there is nothing to export.",

  // Learn a filter
  "learn.title": "Learn a filter",
  "learn.intro": "A hidden kernel turns random images into outputs. Starting from noise, gradient descent with ConvLab's own backward pass (eq. 36.9) finds it again.",
  "learn.hidden": "Hidden kernel",
  "learn.lr": "Learning rate",
  "learn.steps": "Steps",
  "learn.run": "Learn",
  "learn.truth": "Hidden kernel",
  "learn.estimate": "Estimate at step {step}",
  "learn.loss": "Loss (mean squared error, log scale)",
  "learn.status": "Step {step} of {steps}: loss {loss}, largest weight error {err}",
  "learn.done": "Done: after {steps} steps the largest weight error is {err}.",
  "learn.running": "Learning…",

  // Camera
  "camera.start": "Camera",
  "camera.stop": "Stop camera",
  "camera.title": "Use live camera frames as the input (at most 2 per second)",
  "camera.starting": "Asking for the camera…",
  "camera.live": "Camera on: {h} × {w}, {fps} frames per second sent.",
  "camera.stopped": "Camera off; the last frame stays as the input.",
  "camera.denied": "The camera permission was refused. Allow it in the browser's site settings to use live input; everything else keeps working.",
  "camera.none": "No camera was found. Plug one in or pick a sample image.",
  "camera.unsupported": "This browser cannot use a camera here (it needs a secure page: localhost or HTTPS).",
  "camera.busy": "The camera is in use by another program.",
  "camera.failed": "The camera could not start: {message}",
  "camera.preview": "Live camera preview",

  // Compare
  "compare.title": "Compare two settings of the {lab} lab",
  "compare.setting": "Setting",
  "compare.a": "A",
  "compare.b": "B",
  "compare.same": "Both sides have the same settings: change a knob in one of them.",
  "compare.default": "(default)",
  "compare.shareCopied": "Link copied: it reopens both sides.",
};

/** The string for `key` with {placeholders} filled in; the key itself if it is missing. */
export function t(key, vars = {}) {
  const text = STRINGS[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}
