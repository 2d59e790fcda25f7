"""The Suites tab: run a prompt suite with live progress, read a run as a matrix, a case over time, run A vs run B.

Layout and wiring only: runs go through arena.suites.runner, reading through arena.suites.results, and the
HTML comes from arena.suites.report (escaped) and arena.sandbox (web pages the models wrote, in sandboxed frames).
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
from html import escape
from pathlib import Path

import gradio as gr

from arena.engine import Engine
from arena.errors import InputError
from arena.paths import PROMPTS
from arena.render import markdown_html
from arena.store import Store
from arena.suites import report
from arena.suites.model import SuiteError, file_stem, load_suite
from arena.suites.results import SHOW, SORT, case_history, compare_runs, load_cell, load_matrix
from arena.suites.runner import DEFAULT_CONCURRENCY, SuiteRun, resume
from arena.ui.battle import judge_this_run
from arena.ui.words import md, preview, session_of, storage_said, user_of

REFRESH_S = 0.5
# A browser's run holds this many threads of the shared server at most.
MAX_CELLS_AT_ONCE = 32
NOT_SERVED = "that is not one of the suites Arena serves: pick one from the list"

# A click on a matrix cell says which cell; nothing else in the matrix reacts.
_CELL_CLICKS = """
element.addEventListener('click', (event) => {
  const cell = event.target.closest('[data-cell]');
  if (cell) trigger('cell', {cell: cell.dataset.cell});
});
"""
# Escape closes the open cell (registered once, with the matrix).
_ESCAPE_CLOSES = """
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') document.querySelector('#suite-cell-close')?.click();
});
"""

CSS = report.CSS + """
#suite-progress progress { width: 100%; height: 14px; }
#suite-progress .sx-meta { font-size: 0.85em; }
#suite-cell { position: fixed !important; top: 0; right: 0; bottom: 0; z-index: 1000;
  width: min(640px, 100vw) !important; max-width: 100vw;
  overflow-y: auto; flex-wrap: nowrap !important; padding: 14px 16px 40px; box-sizing: border-box;
  background: var(--background-fill-primary); color: var(--body-text-color);
  border-left: 1px solid var(--border-color-primary); box-shadow: -12px 0 32px rgba(0, 0, 0, 0.25); }
#suite-cell > * { flex-shrink: 0; }
#suite-cell-close { position: sticky; top: 0; z-index: 2; align-self: flex-end; max-width: 8em; }
#suite-cell-text { overflow-wrap: anywhere; }
#suite-matrix .sx-case-id, #suite-history .sx-case-id { color: var(--body-text-color); }
"""


class SuitesView:
    def __init__(self, engine: Engine, store: Store, prompts: Path = PROMPTS):
        self.engine = engine
        self.store = store
        self.prompts = prompts
        # The only places suites are read from: prompts/ and the folders the operator listed (--suites-dir).
        self.folders = [prompts, *engine.settings.suites_dirs]
        self._running: dict[str, SuiteRun] = {}
        self._lock = threading.Lock()

    # --- layout ----------------------------------------------------------------------------------------------

    def build(self) -> None:
        files = self._suite_files()
        with gr.Row(equal_height=True):
            self.suite_file = gr.Dropdown(label="Suite (from prompts/ and the folders given with --suites-dir)",
                                          choices=files, value=files[0] if files else None, scale=3,
                                          elem_id="suite-file")
            self.judge = gr.Dropdown(label="Judge (grades the judge checks; automatic)", choices=[], value=None,
                                     scale=2, elem_id="suite-judge")
            # No minimum/maximum here: Gradio would refuse a value out of range with its own bare "Error" toast.
            self.concurrency = gr.Number(label="Cells at once", value=DEFAULT_CONCURRENCY, precision=0, scale=1,
                                         placeholder=str(DEFAULT_CONCURRENCY), elem_id="suite-concurrency")
            self.use_cache = gr.Checkbox(label="Reuse stored answers (fixed seeds only)", value=True, scale=1,
                                         elem_id="suite-cache")
        self.suite_info = gr.Markdown(self._describe(files[0]) if files else "", elem_id="suite-info")
        self.models = gr.CheckboxGroup(label="Models", choices=[], elem_id="suite-models")
        with gr.Row():
            self.run_button = gr.Button("Run suite", variant="primary", elem_id="suite-run")
            self.stop_button = gr.Button("Stop", variant="stop", interactive=False, elem_id="suite-stop")
        self.progress = gr.HTML(elem_id="suite-progress", apply_default_css=False, js_on_load=None)
        # Next to the buttons that most often answer with a sentence (Run suite, Resume, the exports).
        self.message = gr.Markdown(elem_id="suite-message")
        gr.Markdown("### Results")
        with gr.Row(equal_height=True):
            self.run_pick = gr.Dropdown(label="Run", choices=[], value=None, scale=3, elem_id="suite-run-pick")
            self.show = gr.Radio(label="Show", choices=list(SHOW), value="all", scale=2, elem_id="suite-show")
        with gr.Row(equal_height=True):
            self.search = gr.Textbox(label="Find cases (words in the id or prompt)", scale=3, elem_id="suite-search",
                                     placeholder="e.g. captcha")
            self.sort = gr.Dropdown(label="Order", choices=list(SORT.items()), value="suite", scale=1,
                                    elem_id="suite-sort")
        with gr.Row():
            self.resume_button = gr.Button("Resume this run", size="sm", elem_id="suite-resume")
            self.judge_run_button = gr.Button("Judge this run", size="sm", elem_id="suite-judge-run")
            self.report_button = gr.Button("Export HTML report", size="sm", elem_id="suite-report")
            self.json_button = gr.Button("Export JSON", size="sm", elem_id="suite-json")
            self.download = gr.File(label="Export", visible=False, elem_id="suite-download")
        self.summary = gr.HTML(elem_id="suite-summary", apply_default_css=False, js_on_load=None)
        self.matrix = gr.HTML(elem_id="suite-matrix", apply_default_css=False,
                              js_on_load=_CELL_CLICKS + _ESCAPE_CLOSES)
        # One cell in full, over the page's right side (the whole width on a phone), wherever the click was.
        with gr.Column(visible=False, elem_id="suite-cell") as self.cell_panel:
            self.cell_close = gr.Button("Close ✕", size="sm", elem_id="suite-cell-close")
            self.cell_head = gr.Markdown(elem_id="suite-cell-head")
            self.cell_input = gr.Image(label="The case's input image", type="filepath", interactive=False, height=220,
                                       visible=False, elem_id="suite-cell-input", buttons=["fullscreen"])
            self.cell_checks = gr.Markdown(elem_id="suite-cell-checks")
            self.cell_picture = gr.Image(label="Output", type="filepath", format="png", interactive=False, height=320,
                                         visible=False, elem_id="suite-cell-picture",
                                         buttons=["download", "fullscreen"])
            self.cell_text = gr.HTML(elem_id="suite-cell-text", elem_classes=["arena-md"], js_on_load=None)
            self.preview = gr.HTML(elem_id="suite-preview", apply_default_css=False, js_on_load=None, visible=False)
            self.cell_key = gr.State("")
            self.diff_with = gr.Dropdown(label="Diff this answer against another model's answer on this case",
                                         choices=[], value=None, visible=False, elem_id="suite-diff-with")
            self.cell_diff = gr.HTML(elem_id="suite-cell-diff", apply_default_css=False, js_on_load=None)
        with gr.Accordion("One case across runs", open=False, elem_id="suite-history-box"):
            with gr.Row():
                self.case_pick = gr.Dropdown(label="Case", choices=[], allow_custom_value=True, scale=3,
                                             elem_id="suite-case")
                self.history_button = gr.Button("Show history", size="sm", scale=1, elem_id="suite-history-show")
            self.history = gr.HTML(elem_id="suite-history", apply_default_css=False, js_on_load=_CELL_CLICKS)
        with gr.Accordion("Run A against run B", open=False, elem_id="suite-diff-box"):
            with gr.Row():
                self.run_a = gr.Dropdown(label="Run A (before)", choices=[], scale=2, elem_id="suite-run-a")
                self.run_b = gr.Dropdown(label="Run B (after)", choices=[], scale=2, elem_id="suite-run-b")
                self.diff_button = gr.Button("Compare", size="sm", scale=1, elem_id="suite-diff-show")
            self.changes = gr.HTML(elem_id="suite-changes", apply_default_css=False, js_on_load=_CELL_CLICKS)
        self._wire()

    def _wire(self) -> None:
        private = dict(api_visibility="private")
        run_outputs = [self.progress, self.run_pick, self.run_a, self.run_b, self.summary, self.matrix, self.message,
                       self.case_pick, self.stop_button]
        arranged = [self.show, self.search, self.sort]
        self.run_button.click(self.run, [self.suite_file, self.models, self.judge, self.concurrency, self.use_cache,
                                         *arranged], run_outputs, show_progress="hidden",
                              concurrency_limit=4, concurrency_id="suites", **private)
        self.judge_run_button.click(judge_this_run(self.engine), [self.run_pick, self.judge], self.message,
                                    **private)
        self.resume_button.click(self.resume, [self.run_pick, self.concurrency, self.use_cache, *arranged],
                                 run_outputs, show_progress="hidden", concurrency_limit=4,
                                 concurrency_id="suites", **private)
        self.stop_button.click(self.stop, queue=False, **private)
        self.suite_file.change(lambda value: (self._describe(value), ""), self.suite_file,
                               [self.suite_info, self.message], show_progress="hidden", **private)
        view = [self.summary, self.matrix, self.message, self.case_pick]
        gr.on([self.run_pick.change, self.show.change, self.sort.change, self.search.input, self.search.submit],
              self.view_run, [self.run_pick, *arranged], view, show_progress="hidden", trigger_mode="always_last",
              **private)
        cell = [self.cell_panel, self.cell_head, self.cell_input, self.cell_picture, self.cell_text, self.preview,
                self.cell_checks, self.cell_key, self.diff_with, self.cell_diff]
        for html in (self.matrix, self.history, self.changes):
            html.cell(self.open_cell, None, cell, show_progress="hidden", **private)
        self.cell_close.click(lambda: gr.Column(visible=False), None, self.cell_panel, queue=False, **private)
        self.diff_with.change(self.diff_cells, [self.cell_key, self.diff_with], self.cell_diff,
                              show_progress="hidden", **private)
        self.history_button.click(self.case_history, [self.case_pick, self.run_pick], [self.history], **private)
        self.diff_button.click(self.compare, [self.run_a, self.run_b], [self.changes], **private)
        self.report_button.click(lambda run: self.export(run, "html"), [self.run_pick],
                                 [self.download, self.message], **private)
        self.json_button.click(lambda run: self.export(run, "json"), [self.run_pick],
                               [self.download, self.message], **private)

    @storage_said("message")
    def on_open(self):
        """What the tab shows when it opens: models and judges that can run now, and the stored runs."""
        available = [e for e in self.engine.catalog if self.engine.availability.check(e).ok]
        runs = self._run_choices()
        latest = runs[0][1] if runs else None
        return {
            self.models: gr.CheckboxGroup(choices=[(f"{e.name} · {e.kind_label}", e.name) for e in available]),
            self.judge: gr.Dropdown(choices=[("no judge", "")] + [(e.name, e.name) for e in available
                                                                   if e.output == "text" and e.image_input],
                                    value=""),
            self.run_pick: gr.Dropdown(choices=runs, value=latest),
            self.run_a: gr.Dropdown(choices=runs, value=runs[1][1] if len(runs) > 1 else None),
            self.run_b: gr.Dropdown(choices=runs, value=latest),
        }

    @property
    def open_outputs(self) -> list:
        return [self.models, self.judge, self.run_pick, self.run_a, self.run_b, self.message]

    # --- running ---------------------------------------------------------------------------------------------

    # The request sits before search and sort: Gradio fills it in by its place, the inputs around it.
    @storage_said("message")
    def run(self, suite_file, models, judge, concurrency, use_cache, show, request: gr.Request, search="",
            sort="suite"):
        try:
            path = self._suite_path(suite_file)
            runner = SuiteRun(self.engine.signed_in(user_of(request)), load_suite(path), list(models or []),
                              source=str(path),
                              concurrency=_cells_at_once(concurrency), use_cache=bool(use_cache), judge=judge or None)
        except (SuiteError, InputError) as error:
            yield {self.message: f"**Cannot run the suite:** {md(error)}"}
            return
        yield from self._drive(runner, (show, search, sort), session_of(request))

    @storage_said("message")
    def resume(self, run_id, concurrency, use_cache, show, request: gr.Request, search="", sort="suite"):
        info = self.store.get_run(run_id) if run_id else None
        if info is None:
            yield {self.message: "Pick a run to resume."}
            return
        try:
            suite = load_suite(self._suite_path(info.source))
            runner = resume(self.engine.signed_in(user_of(request)), run_id, suite,
                            concurrency=_cells_at_once(concurrency), use_cache=bool(use_cache))
        except (SuiteError, InputError) as error:
            yield {self.message: f"**Cannot resume:** {md(error)}"}
            return
        if not runner.pending():
            yield {self.message: "Nothing to resume: every cell of this run is done."}
            return
        yield from self._drive(runner, (show, search, sort), session_of(request))

    def _drive(self, runner: SuiteRun, arranged: tuple, session: str):
        """Run in a thread; yield the progress bar and the growing matrix until the run ends or is stopped."""
        total = len(runner.pending())
        finished: queue.SimpleQueue = queue.SimpleQueue()
        counts = {"done": 0, "error": 0, "cached": 0}
        with self._lock:
            self._running[session] = runner
        worker = threading.Thread(target=runner.run, kwargs={"on_cell": finished.put}, daemon=True,
                                  name=f"suite-{runner.run_id}")
        started = time.monotonic()
        worker.start()
        try:
            yield {self.progress: _progress(counts, total, started, "running"), self.message: "",
                   self.stop_button: gr.Button(interactive=True), **self._run_lists(runner.run_id)}
            while worker.is_alive() or not finished.empty():
                deadline = time.monotonic() + REFRESH_S
                new = 0
                while time.monotonic() < deadline:
                    try:
                        result = finished.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    new += 1
                    counts["error" if result.status == "error" else "done"] += 1
                    counts["cached"] += result.cached
                if new:
                    yield {self.progress: _progress(counts, total, started, "running"),
                           **self.view_run(runner.run_id, *arranged)}
            state = "stopped: resume it to run the rest" if runner.stopped else "finished"
            with self._lock:  # Stop stays on while another run of this page goes on
                others = self._running.get(session) not in (None, runner)
            yield {self.progress: _progress(counts, total, started, state),
                   self.stop_button: gr.Button(interactive=others),
                   **self.view_run(runner.run_id, *arranged), **self._run_lists(runner.run_id)}
        finally:
            if worker.is_alive():  # the page went away: stop, keeping what finished (resumable)
                runner.stop()
                worker.join(10)
            with self._lock:
                if self._running.get(session) is runner:
                    del self._running[session]

    def stop(self, request: gr.Request) -> None:
        with self._lock:
            runner = self._running.get(session_of(request))
        if runner is not None:
            runner.stop()

    # --- reading ---------------------------------------------------------------------------------------------

    @storage_said("message")
    def view_run(self, run_id, show, search="", sort="suite") -> dict:
        matrix = load_matrix(self.store, run_id) if run_id else None
        if matrix is None:
            return {self.summary: "", self.matrix: "", self.message: "" if not run_id else f"No run {run_id}."}
        self.store.thumb_paths(matrix.pictures())
        return {
            self.summary: report.summary_table(matrix),
            self.matrix: report.matrix_table(matrix, report.file_url(self.store), show or "all",
                                             search=search or "", sort=sort or "suite"),
            self.message: "",
            self.case_pick: gr.Dropdown(choices=matrix.cases),
        }

    def open_cell(self, event: gr.EventData):
        key = str((getattr(event, "_data", None) or {}).get("cell", ""))
        cell = self._cell(key)
        if cell is None or cell.record is None:
            return {self.cell_panel: gr.Column(visible=True), self.cell_head: "That output is no longer stored.",
                    self.cell_input: gr.Image(visible=False), self.cell_picture: gr.Image(visible=False),
                    self.cell_text: "", self.preview: preview(""), self.cell_checks: "", self.cell_key: "",
                    self.diff_with: gr.Dropdown(visible=False), self.cell_diff: ""}
        record = cell.record
        picture = str(self.store.images.path(record.images[0])) if record.images else None
        given = self._image_path(record.input_image)
        head = (f"### {md(cell.case_id)} · {md(cell.model)}" + (f" · sample {cell.sample + 1}" if cell.sample else "")
                + f"\n`{record.id}` · {record.created} · {md(cell.status)}" + (" · cached" if cell.cached else "")
                + f"\n\n**Prompt:** {md(record.prompt)}")
        others = [(f"{c.model}" + (f" · sample {c.sample + 1}" if c.sample else ""), _key(c))
                  for c in self._case_cells(cell) if _key(c) != key and c.record and c.record.output == "text"]
        texty = record.output == "text" and bool(others)
        return {
            self.cell_panel: gr.Column(visible=True),
            self.cell_head: head,
            self.cell_input: gr.Image(value=given, visible=given is not None),
            self.cell_picture: gr.Image(value=picture, visible=picture is not None),
            self.cell_text: markdown_html(record.text or "")  # model text: arena.render's allowlist
            + (f"<p><b>Error:</b> {escape(record.error)}</p>" if record.error else ""),
            self.preview: preview(record.text if record.output == "text" else ""),
            self.cell_checks: _checks_markdown(cell, self._expectations(cell)),
            self.cell_key: key,
            self.diff_with: gr.Dropdown(choices=others, value=None, visible=texty),
            self.cell_diff: "",
        }

    def diff_cells(self, key, other_key):
        """This cell's answer against another's, word by word (escaped: nothing in an answer is markup)."""
        mine, other = self._cell(key or ""), self._cell(other_key or "")
        if mine is None or other is None or mine.record is None or other.record is None:
            return ""
        return report.text_diff(mine.record.text, other.record.text, _label(mine), _label(other))

    def _cell(self, key: str):
        parts = key.split("|")
        if len(parts) != 4 or not parts[3].isdigit():
            return None
        return load_cell(self.store, parts[0], parts[1], parts[2], int(parts[3]))

    def _case_cells(self, cell) -> list:
        matrix = load_matrix(self.store, cell.run_id)
        return matrix.row(cell.case_id) if matrix else []

    def _expectations(self, cell) -> list[str]:
        """What each check of the cell's case asks for, from the suite file (in the order the checks ran)."""
        info = self.store.get_run(cell.run_id)
        try:
            suite = load_suite(self._suite_path(info.source)) if info else None
        except (SuiteError, InputError):
            return []
        case = next((c for c in suite.cases if c.id == cell.case_id), None) if suite else None
        return [_expectation(check) for check in case.checks] if case else []

    def _image_path(self, sha: str | None) -> str | None:
        return str(self.store.images.path(sha)) if sha and self.store.images.exists(sha) else None

    def case_history(self, case_id, run_id):
        """The case in every run of the same suite as the run shown (every suite if none is shown)."""
        if not case_id:
            return '<div class="sx"><p class="sx-empty">Pick a case.</p></div>'
        info = self.store.get_run(run_id) if run_id else None
        history = case_history(self.store, case_id, info.suite if info else None)
        return report.history_table(case_id, history, report.file_url(self.store))

    def compare(self, run_a, run_b):
        if not run_a or not run_b:
            return '<div class="sx"><p class="sx-empty">Pick two runs.</p></div>'
        try:
            changes = compare_runs(self.store, run_a, run_b)
        except KeyError as missing:
            return f'<div class="sx"><p class="sx-empty">No run {missing}.</p></div>'
        return report.changes_table(changes, report.file_url(self.store))

    @storage_said("message")
    def export(self, run_id, fmt: str):
        matrix = load_matrix(self.store, run_id) if run_id else None
        if matrix is None:
            return gr.File(visible=False), "Pick a run to export."
        folder = Path(tempfile.mkdtemp(prefix="arena-suite-"))
        name = file_stem(matrix.run.suite, run_id)
        if fmt == "html":
            path = folder / f"{name}.html"
            path.write_text(report.report_page(self.store, matrix), encoding="utf-8")
        else:
            path = folder / f"{name}.json"
            path.write_text(json.dumps(matrix.to_json(), indent=1, ensure_ascii=False), encoding="utf-8")
        return gr.File(value=str(path), visible=True), ""

    # --- helpers ---------------------------------------------------------------------------------------------

    def _suite_files(self) -> list[str]:
        """prompts/ suites by name, then those of each --suites-dir folder by path."""
        files = []
        for number, folder in enumerate(self.folders):
            found = sorted(p for p in folder.glob("*.y*ml") if p.is_file()) if folder.is_dir() else []
            files += [p.name if number == 0 else str(p) for p in found]
        return files

    def _suite_path(self, value: str | None) -> Path:
        """The suite file ``value`` names, if it lies in a folder suites are served from; else one sentence that
        says nothing of what is on the server (the same whether the file exists or not)."""
        if not value:
            raise InputError("pick a suite file")
        if Path(value).suffix.lower() not in (".yaml", ".yml"):
            raise InputError(f"a suite is a .yaml file; {value!r} is not")
        # As given (an absolute value stays itself), then by its file name: a run started from the CLI records
        # the path it was given there, which may be relative to another folder or lie on another replica.
        for name in dict.fromkeys((value, Path(value).name)):
            for folder in self.folders:
                try:
                    root = folder.resolve()
                    path = (folder / name).resolve()
                except (OSError, ValueError, RuntimeError):
                    continue
                if path.is_relative_to(root) and path.is_file():
                    return path
        raise InputError(NOT_SERVED)

    def _describe(self, value) -> str:
        try:
            suite = load_suite(self._suite_path(value))
        except (SuiteError, InputError) as error:
            return f"**Cannot read the suite:** {md(error)}"
        images = sum(case.expect == "image" for case in suite.cases)
        sampled = sum(case.samples > 1 for case in suite.cases)
        return (f"**{md(suite.name)}** v{md(suite.version)}: {len(suite.cases)} cases ({len(suite.cases) - images} "
                f"for text models, {images} for image generators)"
                + (f", {sampled} of them sampled several times" if sampled else "") + f". {md(suite.description)}")

    def _run_lists(self, run_id: str) -> dict:
        """The three run pickers, fresh: this run shown and as run B, the run before it as run A."""
        runs = self._run_choices()
        before = next((value for _, value in runs if value != run_id), None)
        return {self.run_pick: gr.Dropdown(choices=runs, value=run_id),
                self.run_a: gr.Dropdown(choices=runs, value=before),
                self.run_b: gr.Dropdown(choices=runs, value=run_id)}

    def _run_choices(self) -> list[tuple[str, str]]:
        return [(f"{_when(r.started_at)} · {r.suite} v{r.version} · {r.status} · {r.done} cells · {r.id}"
                 + (f" · by {r.user_name}" if r.user_name else ""), r.id) for r in self.store.list_runs()]


def _progress(counts: dict, total: int, started: float, state: str) -> str:
    done = counts["done"] + counts["error"]
    elapsed = time.monotonic() - started
    return (f'<div class="sx" data-state="{"running" if state == "running" else "ended"}">'
            f'<progress max="{max(total, 1)}" value="{done}"></progress>'
            f'<div class="sx-meta">{done} of {total} cells · {counts["error"]} errors · {counts["cached"]} from the '
            f"cache · {elapsed:.0f} s · {state}</div></div>")


def _checks_markdown(cell, expectations: list[str]) -> str:
    """Each check: passed or not, what it expected, what it found."""
    lines = []
    for number, check in enumerate(cell.checks):
        mark = {True: "✓", False: "✗", None: "?"}[check["passed"]]
        kind = " *(automatic: a model's judgement)*" if check.get("automatic") else ""
        score = f" · score {check['score']:g}" if check.get("score") is not None else ""
        expected = expectations[number] if number < len(expectations) else ""
        wanted = f" — expects {md(expected)}" if expected else ""
        lines.append(f"- {mark} **{md(check['check'])}**{kind}{score}{wanted} → {md(check.get('detail', ''))}")
    if cell.refused is not None:
        lines.append(f"- refusal detector: {'refused' if cell.refused else 'answered'}")
    return "**Checks**\n\n" + "\n".join(lines) if lines else ""


def _expectation(check) -> str:
    name = check.name
    value = getattr(check, name)
    if name == "regex":
        return f"text matching the pattern {value}"
    if name in ("contains", "not_contains"):
        return f"{'text containing' if name == 'contains' else 'text without'} “{value}”"
    if name == "judge":
        return f"the judge to pass: {value}"
    return {"produced_image": "a picture" if value else "no picture", "expects_refusal": "a refusal" if value else
            "no refusal", "expects_answer": "an answer" if value else "a refusal"}.get(name, str(value))


def _key(cell) -> str:
    return f"{cell.run_id}|{cell.case_id}|{cell.model}|{cell.sample}"


def _label(cell) -> str:
    return f"{cell.model} · {cell.run_id}" + (f" · sample {cell.sample + 1}" if cell.sample else "")


def _cells_at_once(value) -> int:
    """The "Cells at once" field: empty for the default, else a whole number within bounds."""
    if value is None or value == "":
        return DEFAULT_CONCURRENCY
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number.is_integer() or not 1 <= number <= MAX_CELLS_AT_ONCE:
        raise InputError(f"Cells at once must be a whole number from 1 to {MAX_CELLS_AT_ONCE} "
                         f"(empty for {DEFAULT_CONCURRENCY}).")
    return int(number)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
