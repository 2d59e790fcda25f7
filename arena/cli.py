"""``python -m arena``: the same engine as the web app, from the shell.

    python -m arena models
    python -m arena compare "a charming spider at work" --models offline-pixtral,offline-sd --out out/
    python -m arena chain describe-draw "a charming spider at work" --describe offline-pixtral --draw offline-sd
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from arena import images, secrets
from arena.catalog import AvailabilityChecker, Catalog, CatalogError
from arena.engine import Engine
from arena.errors import InputError
from arena.pane import PaneSnapshot
from arena.request import GenerationParams, Request
from arena.results import metrics_line, write_outputs
from arena.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m arena", description="Compare multimodal models side by side.")
    parser.add_argument("--catalog", help="models catalog YAML (default: ARENA_CATALOG, else the built-in one)")
    parser.add_argument("--data-dir", help="data folder (default: ARENA_DATA_DIR, else ~/.arena)")
    commands = parser.add_subparsers(dest="command", required=True)

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
    from arena.sweep_cli import SWEEP_HELP

    compare.add_argument("--sweep", action="append", default=[], metavar="AXIS=V1,V2", help=SWEEP_HELP)

    gallery = commands.add_parser("gallery", help="the outputs kept so far").add_subparsers(dest="action",
                                                                                           required=True)
    listing = gallery.add_parser("list", help="newest first, one line per output")
    export = gallery.add_parser("export", help="write outputs as a static HTML page, JSON Lines or a contact sheet")
    for sub in (listing, export):
        sub.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
        sub.add_argument("--kind", choices=["text", "image"], help="only text or only image outputs")
        sub.add_argument("--search", default="", help="words that must all be in the prompt")
        sub.add_argument("--since", help="from this date (YYYY-MM-DD)")
        sub.add_argument("--until", help="up to this date, inclusive (YYYY-MM-DD)")
        sub.add_argument("--favourites", action="store_true", help="only favourites")
        sub.add_argument("--run", help="only outputs of this suite run")
    listing.add_argument("--limit", type=int, default=50)
    export.add_argument("--comparison", help="every output of this comparison")
    export.add_argument("--ids", help="comma-separated output ids")
    export.add_argument("--format", choices=["html", "jsonl", "sheet"], default="html")
    export.add_argument("--out", type=Path, required=True, help="a folder, a .zip (html, jsonl) or a .png (sheet)")
    from arena import chain_cli, suite_cli

    suite_cli.add_commands(commands)
    chain_cli.add_commands(commands)
    show = gallery.add_parser("show", help="one output's whole record")
    show.add_argument("id")
    inspect = gallery.add_parser("inspect", help="read the record a generated PNG carries")
    inspect.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(catalog=args.catalog, data_dir=args.data_dir)
        secrets.load_env_files(settings.data_dir)
        catalog = Catalog.load(settings.catalog) if args.command != "gallery" and not (
        args.command == "suite" and args.action == "show") else None
    except CatalogError as error:
        print(f"arena: {error}", file=sys.stderr)
        return 2
    if args.command == "models":
        return list_models(catalog)
    if args.command == "gallery":
        from arena.gallery_cli import run

        return run(args, settings)
    if args.command == "suite":
        from arena.suite_cli import run_command

        return run_command(args, catalog, settings)
    if args.command == "chain":
        from arena.chain_cli import run_command

        return run_command(args, catalog, settings)
    return compare(args, catalog, settings)


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
        print(f"{entry.name:<{width}}  {entry.kind:<{kind_width}}  {status}")
    return 0


def compare(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    from arena.store import Store

    if args.sweep:
        from arena.sweep_cli import run_sweep

        return run_sweep(args, catalog, settings)

    store = None if args.no_save or not settings.save_outputs else Store(settings.data_dir)
    engine = Engine(catalog, settings, store)
    try:
        request = Request(prompt=args.prompt, image=_image(args, settings), params=_params(args))
        _check_out_folder(args.out)
        comparison = engine.start(request, args.models.split(","))
    except InputError as error:
        print(f"arena: {error}", file=sys.stderr)
        engine.close()
        return 2
    progress = _Progress(comparison.panes)
    try:
        for changed in comparison.updates():
            progress.show(comparison.panes[i].snapshot() for i in changed)
    except KeyboardInterrupt:
        comparison.cancel()
        comparison.wait()
        print("arena: stopped; keeping what finished", file=sys.stderr)
    finally:
        progress.close()
        comparison.join_backends(5.0)
        engine.close()
    snapshots = comparison.snapshots()
    written = write_outputs(snapshots, args.out) if args.out else {}
    width = max(len(p.model) for p in snapshots)
    for pane in snapshots:
        line = f"{pane.model:<{width}}  {pane.status:<9}"
        detail = pane.error or metrics_line(pane)
        if detail:
            line += f"  {detail}"
        if written.get(pane.model):
            line += "  -> " + ", ".join(str(p) for p in written[pane.model])
        print(line)
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


def _image(args: argparse.Namespace, settings: Settings):
    if args.image is None:
        return None
    if not args.image.is_file():
        raise InputError(f"No image file at {args.image}.")
    return images.load_image(args.image, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)


def _params(args: argparse.Namespace) -> GenerationParams:
    width = height = None
    if args.size:
        try:
            width, height = (int(v) for v in args.size.lower().replace("×", "x").split("x"))
        except ValueError:
            raise InputError(f"--size must look like 512x512, not {args.size!r}.") from None
    return GenerationParams.parse(dict(
        max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed, steps=args.steps,
        guidance=args.guidance, width=width, height=height,
    ))


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
