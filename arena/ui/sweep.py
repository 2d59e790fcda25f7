"""The Compare tab's "Sweep (X/Y/Z grid)": vary up to three parameters across the chosen models, as a grid.

Layout and wiring only: the sweep is planned and run by arena.sweeps, drawn by arena.sweep_grid. It reads the
Compare view's prompt, image, models, parameters and "keep in the gallery" box.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from arena.engine import Engine
from arena.errors import InputError
from arena.request import Request
from arena.sweep_grid import data_url, grid_html, grid_image, grid_tables
from arena.sweeps import AXES, Axis, Sweep, SweepRun, make_axis, plan
from arena.ui.compare import CompareView
from arena.ui.words import md, session_of, user_of

CSS = """
#sweep-grid .scroll { overflow-x: auto; }
#sweep-grid table { border-collapse: separate; border-spacing: 6px; margin: 0; border: none; width: auto; }
#sweep-grid th { text-align: left; vertical-align: top; font-size: 0.9em; min-width: 7rem;
  color: var(--body-text-color); background: none; border: none; padding: 4px; }
#sweep-grid thead th { text-align: center; }
@media (max-width: 640px) { #sweep-grid th { min-width: 5rem; } #sweep-grid td { min-width: 170px; } }
#sweep-grid td { vertical-align: top; background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px;
  width: 240px; min-width: 200px; max-width: 300px; }
#sweep-grid td img { width: 100%; border-radius: 4px; display: block; margin: 0; }
#sweep-grid .answer { max-height: 16rem; overflow: auto; font-size: 0.88em; overflow-wrap: anywhere; }
#sweep-grid .answer pre { white-space: pre-wrap; }
#sweep-grid .cap, #sweep-grid .meta { color: var(--body-text-color-subdued); font-size: 0.82em; }
#sweep-grid .error { color: var(--error-text-color); }
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
    pictures: dict = field(default_factory=dict)  # id(image) → (image, its data URL), drawn once

    def picture_url(self, image) -> str:
        if id(image) not in self.pictures:
            self.pictures[id(image)] = (image, data_url(image, most=384, fmt="WEBP"))
        return self.pictures[id(image)][1]


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
                self.stop_button = gr.Button("Stop sweep", variant="stop", interactive=False, elem_id="sweep-stop")
            self.progress = gr.Markdown(elem_id="sweep-progress")
            self.z_pick = gr.Radio(label="Z axis value", choices=[], type="index", visible=False,
                                   elem_id="sweep-z")
            self.grid = gr.HTML(visible=False, elem_id="sweep-grid")
            with gr.Row():
                self.png_file = gr.File(label="Download grid PNG", interactive=False, visible=False,
                                        elem_id="sweep-png")
                self.html_file = gr.File(label="Download HTML", interactive=False, visible=False,
                                         elem_id="sweep-html")
        self._wire()

    def _wire(self) -> None:
        # The Compare view's prompt, image, models, parameters and "keep" box, and the axes: one dict for run().
        inputs = {*self.compare.ask_inputs, *[c for pair in self.axes for c in pair]}
        outputs = [self.progress, self.z_pick, self.grid, self.png_file, self.html_file, self.stop_button]
        self.run_button.click(self.run, inputs, outputs,
                              show_progress="hidden", concurrency_limit=2, concurrency_id="sweep",
                              api_visibility="private")
        self.stop_button.click(self.stop, None, None, queue=False, api_visibility="private")
        self.z_pick.change(self.show_block, self.z_pick, self.grid, api_visibility="private",
                           show_progress="hidden")

    # --- handlers --------------------------------------------------------------------------------------------

    def run(self, values: dict, request: gr.Request):
        try:
            ask = self.compare.ask(values)
            axes = _axes([(values.get(picker), values.get(typed)) for picker, typed in self.axes], ask.prompt)
            sweep = plan(self.engine, Request(ask.prompt, ask.image, ask.params), ask.models, axes)
        except InputError as error:
            yield {self.progress: f"**Cannot run the sweep:** {md(error)}"}
            return
        run = SweepRun(self.engine.signed_in(user_of(request)), sweep, save=ask.save)
        shown = Shown(sweep, run, Path(tempfile.mkdtemp(prefix="arena-sweep-")))
        self._replace(session_of(request), shown)
        z_axis = sweep.axis("z")
        started = time.monotonic()
        yield {
            self.progress: f"Running {md(sweep.describe())}…",
            self.z_pick: gr.Radio(choices=z_axis.labels, value=z_axis.labels[0], visible=True) if z_axis
            else gr.Radio(choices=[], visible=False),
            self.grid: gr.HTML(value=self._draw(shown, 0), visible=True),
            self.png_file: gr.File(value=None, visible=False),
            self.html_file: gr.File(value=None, visible=False),
            self.stop_button: gr.Button(interactive=True),
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
        with self._lock:  # a newer sweep of this page replaced this one: Stop stays on for it
            newer = self._shown.get(session_of(request)) is not shown
        if newer:
            yield {self.stop_button: gr.Button(interactive=True)}
            return
        png = shown.folder / "grid.png"
        grid_image(sweep, run.outputs).save(png)
        html = shown.folder / "grid.html"
        html.write_text(grid_html(sweep, run.outputs, run.comparison_id), encoding="utf-8")
        yield {
            self.progress: _finished(sweep, run, time.monotonic() - started),
            self.grid: self._draw(shown, shown.z),
            self.png_file: gr.File(value=str(png), visible=True),
            self.html_file: gr.File(value=str(html), visible=True),
            self.stop_button: gr.Button(interactive=False),
        }

    def stop(self, request: gr.Request) -> None:
        with self._lock:
            shown = self._shown.get(session_of(request))
        if shown is not None:
            shown.run.cancel()

    def forget(self, request: gr.Request) -> None:
        """The session ended (its tab closed): its sweep is stopped and its files removed."""
        with self._lock:
            shown = self._shown.pop(session_of(request), None)
        if shown is not None:
            shown.run.cancel()
            shutil.rmtree(shown.folder, ignore_errors=True)

    def show_block(self, z, request: gr.Request):
        with self._lock:
            shown = self._shown.get(session_of(request))
        if shown is None or z is None:
            return gr.HTML()
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
        """The grid (one Z block) as HTML tables in the page's own colours; model text through arena.render."""
        shown.z = z
        return grid_tables(shown.sweep, shown.run.outputs, z=z if shown.sweep.axis("z") else None,
                           picture_url=shown.picture_url)


def _axes(chosen: list[tuple[str | None, str | None]], prompt: str) -> list[Axis]:
    """The axes a person set (kind, values), in X, Y, Z order; an axis left at "none" is skipped, but not in the
    middle."""
    used = [bool(kind and kind != NONE) for kind, _ in chosen]
    if not used[0] and any(used):
        raise InputError("Set the X axis first: the Y and Z axes add rows and blocks to it.")
    if used[2] and not used[1]:
        raise InputError("Set the Y axis before the Z axis (a Y axis with one value will do).")
    return [make_axis(kind, typed or "", prompt) for (kind, typed), on in zip(chosen, used, strict=True) if on]


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
