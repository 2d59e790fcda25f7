"""Reading the project's YAML files (catalogs, suites) with errors that name the file.

Suites and catalogs may come from someone else, so reading one is bounded: at most MAX_BYTES of UTF-8 text,
nested at most MAX_DEPTH levels, and at most MAX_NODES values once every alias is expanded (a "billion laughs"
file of a few hundred bytes would otherwise expand to billions when validated). libyaml's C loader is used when
PyYAML has it (a 20 MB file took 104 s with the pure-Python one).
"""

from __future__ import annotations

from pathlib import Path

import yaml

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 1_000_000

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_mapping(path: Path, error: type[Exception], what: str) -> dict:
    """The YAML mapping in ``path``, or ``error`` saying why not (unreadable, too large, not YAML, not a mapping)."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as failure:
        raise error(f"cannot read {path}: {failure.strerror or failure}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB, the most Arena reads")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as failure:
        raise error(f"{path} is not UTF-8 text (byte {failure.start} cannot be read)") from None
    try:
        _check_shape(text)
        document = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except _TooBig as failure:
        raise error(f"{path}: {failure}") from None
    except yaml.YAMLError as failure:
        raise error(f"{path} is not valid YAML: {_yaml_problem(failure)}") from None
    except RecursionError:
        raise error(f"{path} is nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    if not isinstance(document, dict):
        raise error(f"{path}: expected a mapping with {what}")
    return document


def _yaml_problem(failure: yaml.YAMLError) -> str:
    """libyaml's complaint in one line, placed by line and column (it names the text "<unicode string>")."""
    mark = getattr(failure, "problem_mark", None)
    problem = " ".join(str(getattr(failure, "problem", None) or failure).split())
    context = getattr(failure, "context", None)
    said = f"{problem} ({' '.join(str(context).split())})" if context else problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {said}" if mark is not None else said


class _TooBig(ValueError):
    pass


def _check_shape(text: str) -> None:
    """Walk the parser's events once: refuse deep nesting and aliases that expand past MAX_NODES."""
    anchored: dict[str, int] = {}  # anchor -> how many values it stands for, expanded
    open_nodes: list[list] = [[None, 0]]  # [anchor, expanded size so far] per open collection
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(open_nodes) > MAX_DEPTH:
                raise _TooBig(f"nested more than {MAX_DEPTH} levels deep")
            open_nodes.append([event.anchor, 1])
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, anchored.get(event.anchor, 1)
        else:
            continue
        if anchor is not None:
            anchored[anchor] = size
        open_nodes[-1][1] += size
        if open_nodes[-1][1] > MAX_NODES:
            raise _TooBig(f"holds more than {MAX_NODES:,} values once its aliases are expanded")
