"""Experiment configs are small deltas over the shared partials in ``configs/data``, ``configs/method``
and ``configs/trainer``. A config names the partials it builds on in a top-level ``stack:`` list
(paths relative to the config's own folder); ``-c experiment.yaml`` then reads as
``-c partial1 -c partial2 ... -c experiment.yaml``, later files overriding earlier ones key by key.

    stack: [../data/bsd68.yaml, ../method/r2r.yaml]

A partial may stack others in turn. When a later file changes a class (``class_path``), jsonargparse
keeps the earlier ``init_args`` the new class also accepts: a delta that swaps a network states the
arguments it means.
"""

from __future__ import annotations

from pathlib import Path

import yaml

STACK_KEY = "stack"
CONFIG_FLAGS = ("-c", "--config")


def _read(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"Config '{path}' does not exist: check the path given to -c or listed under 'stack:'.")
    content = yaml.safe_load(path.read_text()) or {}
    if not isinstance(content, dict):
        raise ValueError(f"Config '{path}' must be a YAML mapping of keys to values, got {type(content).__name__}.")
    return content


def config_layers(path: str | Path, _seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict, bool]]:
    """The (file, own keys, whether the file stacks others) layers ``-c path`` stands for, in the order
    they apply: the partials of its ``stack:`` (recursively), then the file's own keys without ``stack:``."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, resolved))
        raise ValueError(f"Configs stack each other in a loop ({chain}): remove one of the 'stack:' entries.")
    content = _read(path)
    stacks = STACK_KEY in content
    partials = content.pop(STACK_KEY, [])
    if isinstance(partials, str):
        partials = [partials]
    if not isinstance(partials, list) or not all(isinstance(p, str) for p in partials):
        raise ValueError(f"'{STACK_KEY}:' in '{path}' must be a list of config paths, got {partials!r}.")
    layers = [layer for partial in partials for layer in config_layers(path.parent / partial, (*_seen, resolved))]
    return [*layers, (path, content, stacks)]


def expand_stacks(arguments: list[str]) -> list[str]:
    """A command line with every ``-c FILE`` / ``--config FILE`` / ``--config=FILE`` replaced by one
    ``-c`` per layer. A file without ``stack:`` stays a path; a layer whose file holds ``stack:`` is
    passed as its YAML content (jsonargparse takes either), since jsonargparse would refuse the key."""
    expanded, index = [], 0
    while index < len(arguments):
        argument, path = arguments[index], None
        if argument in CONFIG_FLAGS and index + 1 < len(arguments):
            path, index = arguments[index + 1], index + 2
        elif argument.startswith("--config="):
            path, index = argument.split("=", 1)[1], index + 1
        else:
            expanded.append(argument)
            index += 1
            continue
        for file, content, stacks in config_layers(path):
            if not stacks:
                expanded += ["-c", str(file)]
            elif content:
                expanded += ["-c", yaml.safe_dump(content, sort_keys=False)]
    return expanded


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        same_class = (
            isinstance(value, dict)
            and isinstance(below, dict)
            and value.get("class_path", below.get("class_path")) == below.get("class_path")
        )
        merged[key] = _merge(below, value) if same_class else value
    return merged


def stacked_content(path: str | Path) -> dict:
    """The keys a stacked config sets, merged as ``-c`` merges them, for tools that read a config
    without the CLI (``train.py fit -c PATH --print_config`` shows the result with every default)."""
    content: dict = {}
    for _, layer, _ in config_layers(path):
        content = _merge(content, layer)
    return content
