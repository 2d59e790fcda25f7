"""``python -m arena chain describe-draw|critique``: chains between models from the shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from arena.catalog import Catalog
from arena.chains import DESCRIBE_PROMPT, DescribeThenDraw, critique_jobs, critique_prompt, parse_score
from arena.cli.common import generation_params, interrupted, load_picture, open_engine, open_store
from arena.engine import Engine
from arena.pane_export import picture_file
from arena.settings import Settings
from arena.store.pictures import read_record


def add_commands(commands) -> None:
    chain = commands.add_parser("chain", help="chains between models: describe then draw, critique a picture")
    actions = chain.add_subparsers(dest="action", required=True)
    draw = actions.add_parser("describe-draw", help="text models describe the picture, generators draw each one")
    draw.add_argument("prompt")
    draw.add_argument("--describe", required=True, help="comma-separated text models that describe")
    draw.add_argument("--draw", required=True, help="comma-separated image generators that draw")
    draw.add_argument("--image", type=Path, help="an image the describers see with the prompt")
    draw.add_argument("--template", default=DESCRIBE_PROMPT, help="what describers are asked; {prompt} is replaced")
    draw.add_argument("--seed", type=int, help="seed for the pictures")
    draw.add_argument("--out", type=Path, help="folder: describe-MODEL.md and draw-GENERATOR-from-MODEL.png")
    draw.add_argument("--no-save", action="store_true", help="do not keep the outputs in the gallery")
    critique = actions.add_parser("critique", help="vision-language models critique a picture, with a score")
    critique.add_argument("image", type=Path)
    critique.add_argument("--models", required=True, help="comma-separated vision-language models")
    critique.add_argument("--prompt", help="what they are asked (default: does it match its prompt, 1 to 10)")
    critique.add_argument("--out", type=Path, help="folder: critique-MODEL.md")
    critique.add_argument("--no-save", action="store_true", help="do not keep the outputs in the gallery")


def run_command(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    with open_engine(catalog, settings, open_store(settings, keep_outputs=not args.no_save)) as engine:
        run = describe_draw if args.action == "describe-draw" else critique
        return run(args, engine, settings)


def describe_draw(args: argparse.Namespace, engine: Engine, settings: Settings) -> int:
    stopped = 0
    chain = DescribeThenDraw(engine, args.prompt, _names(args.describe), _names(args.draw),
                             image=load_picture(args.image, settings) if args.image else None,
                             params=generation_params({"seed": args.seed}), template=args.template)
    try:
        print("describing…", file=sys.stderr)
        described = chain.describe()
        described.wait()
        drawing = chain.draw()
        if drawing is not None:
            print(f"drawing {len(drawing.panes)} picture{'s' if len(drawing.panes) != 1 else ''}…", file=sys.stderr)
            drawing.wait()
    except KeyboardInterrupt:
        chain.cancel()
        for step in chain.steps:
            step.wait()
        stopped = interrupted("keeping what finished")
    ok = True
    for pane in chain.steps[0].snapshots() if chain.steps else []:
        body = pane.text or (f"> error: {pane.error}" if pane.error else "")  # stopped before a word: no file
        path = _write(args.out, f"describe-{pane.model}.md", body.encode()) if body else None
        ok &= pane.status == "done"
        print(f"{pane.model:<22} describe  {pane.status:<9} {pane.error or ''}{_arrow(path)}")
    drawn = chain.steps[1].snapshots() if len(chain.steps) > 1 else []
    for source, pane in zip(chain.drawn_from, drawn, strict=True):
        path = (_write(args.out, f"draw-{pane.model}-from-{source}.png", picture_file(pane, 0, engine.store))
                if pane.images else None)
        ok &= pane.status == "done"
        print(f"{pane.model:<22} draw      {pane.status:<9} {pane.error or ''}{_arrow(path)}")
    return stopped or (0 if ok and len(chain.steps) == 2 else 1)


def critique(args: argparse.Namespace, engine: Engine, settings: Settings) -> int:
    picture = load_picture(args.image, settings)
    carried = read_record(args.image) or {}
    parent = carried.get("id") if engine.store is not None and engine.store.get(carried.get("id", "")) else None
    prompt = critique_prompt(args.prompt, carried.get("prompt"))
    comparison = engine.start_each(critique_jobs(engine, picture, prompt, _names(args.models), parent))
    stopped = 0
    try:
        comparison.wait()
    except KeyboardInterrupt:
        comparison.cancel()
        comparison.wait()
        stopped = interrupted("keeping what finished")
    ok = True
    for pane in comparison.snapshots():
        score = parse_score(pane.text)
        said = pane.text or (f"> error: {pane.error}" if pane.error else "")  # stopped before a word: no file
        body = (f"score: {score:g}/10\n\n" if score is not None else "") + said
        path = _write(args.out, f"critique-{pane.model}.md", body.encode()) if said else None
        ok &= pane.status == "done"
        shown = f"score {score:g}/10" if score is not None else (pane.error or "no score given")
        print(f"{pane.model:<22} {pane.status:<9} {shown}{_arrow(path)}")
    return stopped or (0 if ok else 1)


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _write(folder: Path | None, name: str, data: bytes) -> Path | None:
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def _arrow(path: Path | None) -> str:
    return f"  -> {path}" if path else ""
