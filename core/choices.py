"""Options with a fixed set of values are typed ``Literal[...]``: jsonargparse checks them and
``train.py --help`` lists them. ``check_choice`` gives the same message to callers from Python."""

from __future__ import annotations

from typing import Any, get_args


def check_choice(name: str, value: Any, choices: Any) -> Any:
    """``value`` if it is one of the ``Literal`` type ``choices``, else a ValueError naming them."""
    allowed = get_args(choices)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {allowed}")
    return value
