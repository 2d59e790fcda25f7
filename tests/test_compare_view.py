"""The Compare view's library side, without a browser: runs with the parameters form, run summaries, stopped
panes, regenerate on local models, steady frames, a cold local model beside an API model, and a closed tab's
board let go."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import gradio as gr

from arena.conversation import REGENERATE_TEMPERATURE, Conversation
from arena.request import Request
from arena.store import Store
from arena.ui import build_app
from arena.ui.compare import CompareView
from arena.web import launch, parse_args
from tests.apprunner import environment, write_catalog
from tests.browser import needs_chromium
from tests.conftest import LOOPBACK_KEY, OFFLINE_ENTRIES, ROOT, openai_entry
from tests.helpers import wait_until

OFFLINE = {entry["name"]: entry for entry in OFFLINE_ENTRIES}


class Session:
    session_hash = "one-tab"


def built_view(engine) -> CompareView:
    view = CompareView(engine)
    with gr.Blocks():
        view.build()
    return view


def asked(view: CompareView, prompt: str, models: list[str], **typed) -> dict:
    """What the page sends for Run or Describe, then draw: the prompt, no image, the ticked models, the parameters
    typed (the others blank), outputs not kept."""
    return {view.prompt: prompt, view.image: None, view.models: models, view.save: False,
            **{box: typed.get(name, "model default" if name == "size" else "") for name, box in
               view.params.fields.items()}}


# --- runs with the parameters form ----------------------------------------------------------------------------

def test_a_run_with_blank_fields_sends_no_temperature_or_seed(loopback, keys, engine_factory):
    view = built_view(engine_factory([openai_entry(loopback, "blank", model="echo-blank-fields")]))
    frames = list(view.run(asked(view, "hello", ["blank"]), Session()))
    assert frames[-1][view.message].startswith("Finished: 1 done.")
    sent = loopback.bodies(model="echo-blank-fields")[-1]
    assert "temperature" not in sent and "seed" not in sent
    frames = list(view.run(asked(view, "hello", ["blank"], temperature="x"), Session()))
    assert "Temperature must be a number" in frames[-1][view.message]
    frames = list(view.run(asked(view, "hello", ["blank"], temperature="0.5", max_tokens="20"), Session()))
    assert frames[-1][view.message].startswith("Finished: 1 done.")
    sent = loopback.bodies(model="echo-blank-fields")[-1]
    assert sent["temperature"] == 0.5 and sent["max_tokens"] == 20 and "seed" not in sent


# --- run state, progress and summaries -------------------------------------------------------------------------

def test_run_is_off_and_stop_on_only_while_panes_stream(loopback, keys, engine_factory):
    view = built_view(engine_factory([openai_entry(loopback, "slowish", model="drip30-state")]))
    frames = list(view.run(asked(view, "one two three", ["slowish"]), Session()))
    first, last = frames[0], frames[-1]
    assert first[view.run_button].interactive is False and first[view.stop_button].interactive is True
    assert last[view.run_button].interactive is True and last[view.stop_button].interactive is False
    assert any(" of 1 done · " in frame.get(view.message, "") for frame in frames[:-1])
    view.stop(Session())  # nothing runs: nothing happens, nothing is said


def test_describe_then_draw_counts_the_panes_of_both_steps(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "writer", model="echo-writer"),
                             openai_entry(loopback, "writer2", model="echo-writer2"),
                             openai_entry(loopback, "painter", kind="openai-image", model="gpt-image-1")])
    view = built_view(engine)
    values = asked(view, "a spider", ["writer", "writer2", "painter"]) | {view.describe_template: "Describe {prompt}"}
    frames = list(view.describe_then_draw(values, Session()))
    assert frames[-1][view.message].startswith("Finished: 4 done.")


def test_frames_come_at_a_steady_rate_with_every_changed_pane(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, f"d{i}", model=f"drip5-frames{i}") for i in range(4)])
    comparison = engine.start(Request("a b c d e f g h i j k l"), [f"d{i}" for i in range(4)], save=False)
    batches = list(comparison.updates(frame_s=0.1))
    chunks = sum(len(loopback.chunk_times[f"drip5-frames{i}"]) for i in range(4))
    assert len(batches) < chunks / 2  # many chunks per frame, not one frame per chunk
    assert set().union(*batches) == {0, 1, 2, 3}
    assert all(pane.status == "done" for pane in comparison.snapshots())


# --- a closed tab ------------------------------------------------------------------------------------------------

def test_a_closed_tab_lets_its_board_go_and_stops_what_it_ran(loopback, keys, engine_factory):
    engine = engine_factory([openai_entry(loopback, "slow", model="drip200-closed"),
                             openai_entry(loopback, "quick", model="echo-closed")])
    demo = build_app(engine)
    unload = [fn.fn for fn in demo.fns.values() if any(target[1] == "unload" for target in fn.targets)]
    [view] = [forget.__self__ for forget in unload if isinstance(forget.__self__, CompareView)]

    class Other:
        session_hash = "another-tab"

    stream = view.run(asked(view, "a long story", ["slow"]), Session())
    next(stream)  # the slow pane is streaming
    list(view.run(asked(view, "hello", ["quick"]), Other()))
    board = view.boards.get(Session.session_hash)
    [comparison] = board.running
    assert len(view.boards) == 2 and view.frames._sent.get(Session.session_hash)

    for forget in unload:  # what Gradio runs when the tab's heartbeat ends
        forget(Session())
    assert view.boards.get(Session.session_hash) is None and len(view.boards) == 1
    assert Session.session_hash not in view.frames._sent and Session.session_hash not in view.frames._last
    comparison.wait()
    assert comparison.snapshots()[0].status == "cancelled"
    assert list(stream) == []  # nothing more is drawn for a closed tab
    assert view.boards.get(Other.session_hash) is not None  # the other tab keeps its panes


# --- stopped panes -----------------------------------------------------------------------------------------------

def test_a_stopped_empty_pane_is_not_kept_and_a_stopped_partial_answer_is(loopback, keys, engine_factory,
                                                                         tmp_path):
    engine = engine_factory([openai_entry(loopback, "silent", model="wait3000-silent", max_retries=0),
                             openai_entry(loopback, "talker", model="stall-talker")])
    engine.store = Store(tmp_path / "data")
    comparison = engine.start(Request("tell me"), ["silent", "talker"])
    deadline = time.monotonic() + 20
    while not comparison.panes[1].snapshot().text and time.monotonic() < deadline:
        next(iter(comparison.updates()), None)
    comparison.cancel()
    silent, talker = comparison.wait()
    assert (silent.status, silent.record_id, silent.text) == ("cancelled", None, "")
    assert talker.status == "cancelled" and talker.text.strip() and talker.record_id
    assert engine.store.models() == ["talker"]


def test_a_stopped_picture_keeps_what_the_pipeline_had(engine_factory, tmp_path):
    entry = OFFLINE["offline-sd"] | {"params": {"steps": 60, "guidance": 0.0, "width": 64, "height": 64}}
    engine = engine_factory([entry])
    engine.store = Store(tmp_path / "data")
    comparison = engine.start(Request("a spider"), ["offline-sd"])
    running = comparison.panes[0]
    tell = running.on_change

    def stop_at_the_second_step(index: int) -> None:  # in the pipeline's own thread: however busy the machine is
        tell(index)
        if running.snapshot().steps_done >= 2:
            comparison.cancel()

    running.on_change = stop_at_the_second_step
    for _ in comparison.updates():
        pass
    pane = comparison.snapshots()[0]
    assert pane.status == "cancelled" and pane.steps_done < 60
    assert len(pane.images) == 1 and pane.record_id  # the partial picture, kept with its record


# --- regenerate on a local model ----------------------------------------------------------------------------------

def test_regenerate_on_a_local_model_samples_with_a_fresh_seed(engine_factory):
    engine = engine_factory([OFFLINE["offline-pixtral"]])
    chat = Conversation(engine, ["offline-pixtral"], save=False)
    first = chat.send("describe a spider")
    greedy = first.wait()[0]
    chat.record(first)
    assert greedy.used["do_sample"] is False
    answers = set()
    for _ in range(2):
        again = chat.again("offline-pixtral")
        pane = again.wait()[0]
        chat.record(again)
        assert pane.used["do_sample"] is True and pane.used["temperature"] == REGENERATE_TEMPERATURE
        answers.add((pane.used["seed"], pane.text))
    assert len(answers) == 2 and greedy.text not in {text for _, text in answers}


# --- a cold local model beside an API model ----------------------------------------------------------------------

COLD_START = """
import json, sys, time
from arena.catalog import Catalog, ModelEntry
from arena.engine import Engine
from arena.request import Request
from arena.settings import Settings

entries = json.loads(sys.argv[1])
engine = Engine(Catalog([ModelEntry.model_validate(e) for e in entries]), Settings.from_env())
comparison = engine.start(Request("hello"), [e["name"] for e in entries], save=False)
events = []
for changed in comparison.updates():
    for pane in comparison.snapshots():
        events.append([pane.model, pane.status, pane.activity, bool(pane.text or pane.images),
                       "transformers" in sys.modules])
print(json.dumps(events))
"""


def test_a_cold_local_model_says_it_is_loading_and_never_delays_an_api_model(loopback, offline_models, tmp_path):
    entries = [OFFLINE["offline-pixtral"], openai_entry(loopback, "api", model="echo-cold")]
    env = {"OPENAI_API_KEY": LOOPBACK_KEY, "ARENA_OFFLINE_MODELS": str(offline_models),
           "ARENA_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-c", COLD_START, json.dumps(entries)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    events = json.loads(done.stdout.splitlines()[-1])
    local = [e for e in events if e[0] == "offline-pixtral"]
    api = [e for e in events if e[0] == "api"]
    assert any(activity == "loading libraries…" for _, _, activity, _, _ in local)
    assert any(activity == "loading model…" for _, _, activity, _, _ in local)
    api_done = next(i for i, e in enumerate(events) if e[0] == "api" and e[1] == "done")
    local_first_output = next(i for i, e in enumerate(events) if e[0] == "offline-pixtral" and e[3])
    assert api_done < local_first_output
    # The API model answered while the local one was still importing its libraries.
    assert events[api_done][4] is False or any(
        e[0] == "offline-pixtral" and e[2] == "loading libraries…" for e in events[api_done - 1:api_done + 2])
    assert api[-1][1] == "done" and local[-1][1] == "done"


# --- a closed tab, in a real browser ------------------------------------------------------------------------------

@needs_chromium
def test_closing_the_tab_forgets_its_board_in_the_running_app(browser, loopback, tmp_path):
    catalog = write_catalog(tmp_path / "catalog.yaml", [openai_entry(loopback, "echo", model="echo-unload")])
    # Gradio notices a closed tab when its heartbeat next fails to go out: every second here, not every 15.
    with environment(OPENAI_API_KEY=LOOPBACK_KEY, GRADIO_HEARTBEAT_INTERVAL="1"):
        demo, engine = launch(parse_args(["--catalog", str(catalog), "--port", "0"]), block=False)
        try:
            [view] = [fn.fn.__self__ for fn in demo.fns.values()
                      if any(t[1] == "unload" for t in fn.targets) and isinstance(fn.fn.__self__, CompareView)]
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(demo.local_url)
            page.wait_for_selector("#arena-models label")
            page.locator("#arena-models label", has_text="echo").click()
            page.fill("#arena-prompt textarea", "hello")
            page.click("#arena-run")
            page.locator("#arena-message", has_text="Finished").wait_for(timeout=60_000)
            assert len(view.boards) == 1
            page.close()
            wait_until(lambda: len(view.boards) == 0, timeout=30, what="the closed tab's board let go")
        finally:
            demo.close()
            engine.close()
