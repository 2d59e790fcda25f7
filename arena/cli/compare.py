"""``python -m arena models`` and ``python -m arena compare``: the same engine as the web app, from the shell.

    python -m arena models
    python -m arena compare "a charming spider at work" --models offline-pixtral,offline-sd --out out/
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from arena import hub
from arena.catalog import AvailabilityChecker, Catalog
from arena.cli.common import INTERRUPTED, generation_params, interrupted, load_picture, open_engine, open_store
from arena.cli.sweep import SWEEP_HELP
from arena.errors import InputError
from arena.pane import PaneSnapshot
from arena.pane_export import metrics_line, write_outputs
from arena.request import GenerationParams, Request
from arena.settings import Settings


def add_commands(commands) -> None:
    commands.add_parser("models", help="list the catalog: name, kind, available or why not")

    compare = commands.add_parser("compare", help="send one prompt to several models at once")
    compare.add_argument("prompt")
    compare.add_argument("--models", required=True, help="comma-separated model names (see `models`)")
    compare.add_argument("--image", type=Path, help="an input image for the models that take one")
    compare.add_argument("--out", type=Path, help="folder for the outputs: NAME.md for text, NAME.png for images")
    compare.add_argument("--max-tokens", type=int)
    compare.add_argument("--temperature", type=float)
    compare.add_argument("--seed", type=int)
    compare.add_argument("--steps", type=int)
    compare.add_argument("--guidance", type=float)
    compare.add_argument("--size", help="image size as WIDTHxHEIGHT, e.g. 512x512")
    compare.add_argument("--no-save", action="store_true", help="do not keep the outputs in the gallery")
    compare.add_argument("--sweep", action="append", default=[], metavar="AXIS=V1,V2", help=SWEEP_HELP)


def run_command(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    return list_models(catalog) if args.command == "models" else compare(args, catalog, settings)


def list_models(catalog: Catalog) -> int:
    entries = list(catalog)
    availability = AvailabilityChecker().check_all(entries)
    width = max(len(e.name) for e in entries)
    kind_width = max(len(e.kind) for e in entries)
    for entry in entries:
        state = availability[entry.name]
        status = "available" if state.ok else f"unavailable: {state.reason}"
        if state.ok and state.reason:
            status += f" ({state.reason})"
        if hub.is_hub_entry(entry) and hub.status(entry).state == "not-downloaded":
            status += f" · `pull {entry.name}` downloads it"
        print(f"{entry.name:<{width}}  {entry.kind:<{kind_width}}  {status}")
    return 0


def compare(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    if args.sweep:
        from arena.cli.sweep import run_sweep

        return run_sweep(args, catalog, settings)

    with open_engine(catalog, settings, open_store(settings, keep_outputs=not args.no_save)) as engine:
        request = Request(prompt=args.prompt, image=image_of(args, settings), params=params_of(args))
        _check_out_folder(args.out)
        comparison = engine.start(request, args.models.split(","))
        progress = _Progress(comparison.panes)
        stopped = False
        try:
            for changed in comparison.updates():
                progress.show(comparison.panes[i].snapshot() for i in changed)
        except KeyboardInterrupt:
            stopped = True
            comparison.cancel()
            comparison.wait()
        finally:
            progress.close()
            comparison.join_backends(5.0)
        snapshots = comparison.snapshots()
        written = write_outputs(snapshots, args.out, engine.store) if args.out else {}
    if stopped:
        interrupted("keeping what finished")
    width = max(len(p.model) for p in snapshots)
    for pane in snapshots:
        line = f"{pane.model:<{width}}  {pane.status:<9}"
        detail = pane.error or metrics_line(pane)
        if detail:
            line += f"  {detail}"
        if written.get(pane.model):
            line += "  -> " + ", ".join(str(p) for p in written[pane.model])
        print(line)
    if stopped:
        return INTERRUPTED
    return 0 if all(p.status == "done" for p in snapshots) else 1


def _check_out_folder(folder: Path | None) -> None:
    """--out must be a folder Arena can write to, found out before any model runs."""
    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder} is a file; give a folder (each model's output is written into it).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise InputError(f"cannot write to --out {folder}: {error.strerror or error}.") from None


def image_of(args: argparse.Namespace, settings: Settings):
    return None if args.image is None else load_picture(args.image, settings)


def params_of(args: argparse.Namespace) -> GenerationParams:
    width = height = None
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().replace("×", "x").split("x"))
        except ValueError:
            raise InputError(f"--size must look like 512x512, not {args.size!r}.") from None
    return generation_params(dict(
        max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed, steps=args.steps,
        guidance=args.guidance, width=width, height=height,
    ), size_flag="--size")


class _Progress:
    """One tqdm bar per model on a terminal; plain lines (start, first output, end) otherwise."""

    def __init__(self, panes):
        from tqdm import tqdm

        self.interactive = sys.stderr.isatty()
        self.bars = {}
        self.said: dict[int, str] = {}
        if self.interactive:
            width = max(len(p.entry.name) for p in panes)
            for pane in panes:
                unit = "step" if pane.entry.output == "image" else "tok"
                self.bars[pane.index] = tqdm(
                    desc=f"{pane.entry.name:<{width}}", position=pane.index, unit=unit, leave=True, file=sys.stderr
                )

    def show(self, snapshots) -> None:
        for pane in snapshots:
            if self.interactive:
                bar = self.bars[pane.index]
                count = pane.steps_done if pane.output == "image" else (pane.tokens or 0)
                if pane.steps_total:
                    bar.total = pane.steps_total
                bar.n = count
                bar.set_postfix_str(pane.error or pane.activity or pane.status, refresh=False)
                bar.refresh()
            else:
                self._line(pane)

    def _line(self, pane: PaneSnapshot) -> None:
        stage = pane.status
        if pane.status == "running" and (pane.text or pane.images or pane.steps_done):
            stage = "streaming"
        if self.said.get(pane.index) != stage:
            self.said[pane.index] = stage
            print(f"[{pane.model}] {stage}" + (f": {pane.error}" if pane.error else ""), file=sys.stderr, flush=True)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
