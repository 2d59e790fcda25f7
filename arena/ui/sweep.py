"""The Compare tab's "Sweep (X/Y/Z grid)": vary up to three parameters across the chosen models, as a grid.

Layout and wiring only: the sweep is planned and run by arena.sweeps, drawn by arena.sweep_grid. It reads the
Compare view's prompt, image, models, parameters and "keep in the gallery" box.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from arena.engine import Engine
from arena.errors import InputError
from arena.request import Request
from arena.sweep_grid import block_image, grid_html, grid_image
from arena.sweeps import AXES, Axis, Sweep, SweepRun, make_axis, plan
from arena.ui.compare import CompareView
from arena.ui.words import md, session_of

CSS = """
#sweep-grid img { object-fit: contain; }
#sweep-grid { min-height: 200px; }
"""

NONE = "none"
AXIS_CHOICES = [("— none —", NONE)] + [(spec.label.capitalize() if key != "prompt_sr" else "Prompt S/R", key)
                                        for key, spec in AXES.items()]
# Between two redraws of the grid while it fills (a finished output is always drawn at once).
REDRAW_S = 1.0


@dataclass
class Shown:
    """The sweep a session ran last: what the Z selector redraws and where its files are."""

    sweep: Sweep
    run: SweepRun
    folder: Path
    z: int = 0  # the Z block on screen
    frame: int = 0  # how many times the grid was drawn (each drawing is a new file)


class SweepView:
    def __init__(self, engine: Engine, compare: CompareView):
        self.engine = engine
        self.compare = compare
        self._shown: dict[str, Shown] = {}
        self._lock = threading.Lock()

    def build(self) -> None:
        with gr.Accordion("Sweep (X/Y/Z grid)", open=False, elem_id="sweep"):
            gr.Markdown(
                "Vary up to three parameters (or the prompt) across the models chosen above; each combination × "
                "each model is a cell of the grid, and every output is kept in the gallery as one comparison. "
                "Values are separated by commas (`1, 2, 3`; `1-4` for a range of seeds), or one per line for "
                "prompts. **Prompt S/R**: the first value is words of the prompt, the others replace them. "
                "A parameter a model does not take (steps for a text model) is marked *n/a* and that model runs "
                "once for those cells. The prompt, image and other parameters come from above.",
                elem_id="sweep-help")
            self.axes: list[tuple[gr.Dropdown, gr.Textbox]] = []
            for name, kind, values in (("X", "seed", "1, 2, 3"), ("Y", NONE, ""), ("Z", NONE, "")):
                with gr.Row(equal_height=True):
                    picker = gr.Dropdown(label=f"{name} axis", choices=AXIS_CHOICES, value=kind, scale=1,
                                         min_width=140, elem_id=f"sweep-{name.lower()}-kind")
                    typed = gr.Textbox(label=f"{name} values", value=values, max_lines=6, scale=3,
                                       placeholder=_example(kind), elem_id=f"sweep-{name.lower()}-values")
                picker.change(lambda k: gr.Textbox(placeholder=_example(k)), picker, typed,
                              api_visibility="private", show_progress="hidden", queue=False)
                self.axes.append((picker, typed))
            with gr.Row():
                self.run_button = gr.Button("Run sweep", variant="primary", elem_id="sweep-run")
                self.stop_button = gr.Button("Stop sweep", variant="stop", elem_id="sweep-stop")
            self.progress = gr.Markdown(elem_id="sweep-progress")
            self.z_pick = gr.Radio(label="Z axis value", choices=[], type="index", visible=False,
                                   elem_id="sweep-z")
            self.grid = gr.Image(label="Grid", type="filepath", format="png", interactive=False, visible=False,
                                 buttons=["download", "fullscreen"], elem_id="sweep-grid")
            with gr.Row():
                self.png_file = gr.File(label="Download grid PNG", interactive=False, visible=False,
                                        elem_id="sweep-png")
                self.html_file = gr.File(label="Download HTML", interactive=False, visible=False,
                                         elem_id="sweep-html")
        self._wire()

    def _wire(self) -> None:
        compare = self.compare
        inputs = [compare.prompt, compare.image, compare.models, *compare.param_inputs, compare.save,
                  *[c for pair in self.axes for c in pair]]
        outputs = [self.progress, self.z_pick, self.grid, self.png_file, self.html_file]
        self.run_button.click(_with_request(self.run, len(inputs)), inputs, outputs,
                              show_progress="hidden", concurrency_limit=2, concurrency_id="sweep",
                              api_visibility="private")
        self.stop_button.click(self.stop, None, None, queue=False, api_visibility="private")
        self.z_pick.change(self.show_block, self.z_pick, self.grid, api_visibility="private",
                           show_progress="hidden")

    # --- handlers --------------------------------------------------------------------------------------------

    def run(self, prompt, image_path, models, *values):
        *values, request = values
        count = len(self.compare.param_inputs)
        params, save, axis_values = values[:count], values[count], values[count + 1:]
        try:
            base = Request(prompt or "", self.compare._image(image_path), self.compare.params_from(*params))
            axes = _axes(axis_values, prompt or "")
            sweep = plan(self.engine, base, list(models or []), axes)
        except InputError as error:
            yield {self.progress: f"**Cannot run the sweep:** {md(error)}"}
            return
        run = SweepRun(self.engine, sweep, save=bool(save))
        shown = Shown(sweep, run, Path(tempfile.mkdtemp(prefix="arena-sweep-")))
        self._replace(session_of(request), shown)
        z_axis = sweep.axis("z")
        started = time.monotonic()
        yield {
            self.progress: f"Running {md(sweep.describe())}…",
            self.z_pick: gr.Radio(choices=z_axis.labels, value=z_axis.labels[0], visible=True) if z_axis
            else gr.Radio(choices=[], visible=False),
            self.grid: gr.Image(value=self._draw(shown, 0), visible=True),
            self.png_file: gr.File(value=None, visible=False),
            self.html_file: gr.File(value=None, visible=False),
        }
        drawn_done, drawn_at = 0, time.monotonic()
        try:
            for _ in run.updates():
                done = run.done
                if done == drawn_done and time.monotonic() - drawn_at < REDRAW_S:
                    continue
                drawn_done, drawn_at = done, time.monotonic()
                yield {self.progress: _progress(sweep, done, time.monotonic() - started),
                       self.grid: self._draw(shown, shown.z)}
        except GeneratorExit:  # the page went away: stop what still runs
            run.cancel()
            raise
        png = shown.folder / "grid.png"
        grid_image(sweep, run.outputs).save(png)
        html = shown.folder / "grid.html"
        html.write_text(grid_html(sweep, run.outputs, run.comparison_id), encoding="utf-8")
        yield {
            self.progress: _finished(sweep, run, time.monotonic() - started),
            self.grid: self._draw(shown, shown.z),
            self.png_file: gr.File(value=str(png), visible=True),
            self.html_file: gr.File(value=str(html), visible=True),
        }

    def stop(self, request: gr.Request) -> None:
        with self._lock:
            shown = self._shown.get(session_of(request))
        if shown is not None:
            shown.run.cancel()

    def show_block(self, z, request: gr.Request):
        with self._lock:
            shown = self._shown.get(session_of(request))
        if shown is None or z is None:
            return gr.Image()
        return self._draw(shown, int(z))

    # --- helpers ---------------------------------------------------------------------------------------------

    def _replace(self, session: str, shown: Shown) -> None:
        """This session's sweep from now on; the one it ran before is stopped and its files removed."""
        with self._lock:
            old = self._shown.get(session)
            self._shown[session] = shown
        if old is not None:
            old.run.cancel()
            shutil.rmtree(old.folder, ignore_errors=True)

    @staticmethod
    def _draw(shown: Shown, z: int) -> str:
        """The grid (one Z block) as a new file: a new name makes the browser fetch it again."""
        shown.z = z
        shown.frame += 1
        path = shown.folder / f"view-{shown.frame}.png"
        block_image(shown.sweep, shown.run.outputs, z).save(path)
        earlier = shown.folder / f"view-{shown.frame - 2}.png"
        earlier.unlink(missing_ok=True)
        return str(path)


def _with_request(handler, count: int):
    """``handler(*inputs, request)`` under a signature Gradio reads: it passes the gr.Request only to a parameter
    annotated with it, and the number of inputs depends on the Compare view's parameter fields."""

    def wrapper(*args):
        yield from handler(*args)

    parameters = [inspect.Parameter(f"input_{i}", inspect.Parameter.POSITIONAL_OR_KEYWORD) for i in range(count)]
    parameters.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request))
    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {"request": gr.Request}  # what Gradio reads, through typing.get_type_hints
    return wrapper


def _axes(values, prompt: str) -> list[Axis]:
    """The axes a person set, in X, Y, Z order; an axis left at "none" is skipped."""
    axes = []
    for kind, typed in zip(values[::2], values[1::2], strict=True):
        if kind and kind != NONE:
            axes.append(make_axis(kind, typed or "", prompt))
    return axes


def _example(kind: str | None) -> str:
    spec = AXES.get(kind or "")
    return f"e.g. {spec.example}" if spec else "pick an axis first"


def _progress(sweep: Sweep, done: int, elapsed: float) -> str:
    return f"{done} of {len(sweep.jobs)} runs done · {elapsed:.1f} s · {md(sweep.describe())}"


def _finished(sweep: Sweep, run: SweepRun, elapsed: float) -> str:
    statuses = [o.status for o in run.outputs if o is not None]
    failed = sum(s == "error" for s in statuses)
    stopped = sum(s == "cancelled" for s in statuses) + sum(o is None for o in run.outputs)
    words = f"Sweep finished: {len(statuses) - failed - stopped} of {len(sweep.jobs)} runs done"
    words += f", {failed} failed" if failed else ""
    words += f", {stopped} stopped" if stopped else ""
    words += f" · {elapsed:.1f} s · {md(sweep.describe())}"
    if run.comparison_id:
        words += f" · kept in the gallery as comparison `{run.comparison_id}`"
    return words + "."
