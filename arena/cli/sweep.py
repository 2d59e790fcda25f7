"""``python -m arena compare PROMPT --models a,b --sweep seed=1,2,3 --sweep steps=1,4 --out DIR``.

Each --sweep is an axis (the first X, then Y, then Z). With --out, every output is written as MODEL_VALUES.md or
.png (e.g. ``offline-sd_seed-1_steps-4.png``), and the whole grid as grid.png and grid.html.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from arena.catalog import Catalog
from arena.cli.common import INTERRUPTED, interrupted, open_engine, open_store
from arena.errors import InputError
from arena.pane_export import metrics_line, write_pictures
from arena.request import Request
from arena.settings import Settings
from arena.sweeps import Sweep, SweepRun, parse_axis, plan
from arena.wording import counted

SWEEP_HELP = ("vary a parameter: seed=1,2,3 (or 1-4), steps=1,4, guidance=0,7, size=256x256,512x512, "
              "temperature=0,0.7, max_tokens=50,200, prompt=\"a cat\",\"a dog\" or prompt_sr=spider,cat,dog; "
              "repeat for a Y and a Z axis")


def run_sweep(args: argparse.Namespace, catalog: Catalog, settings: Settings) -> int:
    from arena.cli.compare import image_of, params_of

    with open_engine(catalog, settings, open_store(settings, keep_outputs=not args.no_save)) as engine:
        request = Request(prompt=args.prompt, image=image_of(args, settings), params=params_of(args))
        axes = [parse_axis(text, args.prompt) for text in args.sweep]
        sweep = plan(engine, request, args.models.split(","), axes)
        made = args.out is not None and not args.out.exists()
        if args.out is not None:
            if args.out.exists() and not args.out.is_dir():
                raise InputError(f"--out {args.out} is a file; give a folder for the grid and its outputs.")
            try:
                args.out.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(f"cannot make the folder --out {args.out}: {error.strerror or error}.") from None
        print(f"sweep: {sweep.describe()}", file=sys.stderr)
        run = SweepRun(engine, sweep)
        said: set[int] = set()
        stopped = False
        try:
            for _ in run.updates():
                for index, output in enumerate(run.outputs):
                    if output is not None and output.finished and index not in said:
                        said.add(index)
                        print(f"[{len(said)}/{len(sweep.jobs)}] {sweep.jobs[index].name} {sweep.job_labels[index]}: "
                              f"{output.status}", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            stopped = True
            run.cancel()
            run.settle()
        finally:
            if run.current is not None:
                run.current.cancel()
                run.current.join_backends(5.0)
        written = _write(sweep, run, args.out, engine.store, whole=not stopped) if args.out else {}
    if stopped:
        _said_stop(run, args.out, written, made)
    width = max(len(job.name) + len(label) + 1 for job, label in zip(sweep.jobs, sweep.job_labels, strict=True))
    for index, output in enumerate(run.outputs):
        name = f"{sweep.jobs[index].name} {sweep.job_labels[index]}"
        if output is None:
            print(f"{name:<{width}}  not run")
            continue
        line = f"{name:<{width}}  {output.status:<9}"
        detail = output.error or metrics_line(output)
        line += f"  {detail}" if detail else ""
        if written.get(index):
            line += f"  -> {written[index]}"
        print(line)
    if args.out and not stopped:
        print(f"grid: {args.out / 'grid.png'}, {args.out / 'grid.html'}")
    if run.comparison_id:
        print(f"kept in the gallery as comparison {run.comparison_id}")
    if stopped:
        return INTERRUPTED
    return 0 if all(o is not None and o.status == "done" for o in run.outputs) else 1


def _said_stop(run: SweepRun, folder: Path | None, written: dict[int, str], made: bool) -> None:
    """One line for a sweep stopped by Ctrl-C: what of it was written, and that its grid was not."""
    if folder is None:
        interrupted("keeping what finished")
        return
    if not written:
        if made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # made for this sweep, and nothing went into it
        interrupted(f"nothing had finished, so nothing was written to {folder}")
        return
    left = len(run.outputs) - len(written)
    interrupted(f"wrote the {counted(len(written), 'finished output')} to {folder}, and no grid "
                f"({left} of {len(run.outputs)} did not finish)")


def _write(sweep: Sweep, run: SweepRun, folder, store, whole: bool = True) -> dict[int, str]:
    """Each output once (MODEL_VALUES.md / .png), then grid.png and grid.html; for a sweep that did not run to its
    end (``whole`` false), only the outputs that finished (done, or failed with an error) and no grid."""
    from arena.sweep_grid import grid_html, grid_image  # Markdown and LaTeX: only for a sweep

    written: dict[int, str] = {}
    for index, output in enumerate(run.outputs):
        if output is None or (not whole and output.status not in ("done", "error")):
            continue
        stem = sweep.file_stem(index)
        files = []
        if output.text or output.error:
            body = output.text if not output.error else f"{output.text}\n\n> error: {output.error}\n".lstrip()
            (folder / f"{stem}.md").write_text(body, encoding="utf-8")
            files.append(f"{stem}.md")
        files += [path.name for path in write_pictures(output, folder, stem, store)]
        if files:
            written[index] = ", ".join(files)
    if not whole:
        return written
    grid_image(sweep, run.outputs).save(folder / "grid.png")
    (folder / "grid.html").write_text(grid_html(sweep, run.outputs, run.comparison_id), encoding="utf-8")
    return written
