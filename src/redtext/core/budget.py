"""The expert budget: one way to write it, one way to count it.

A budget is a count of expert calls (``300``), a fraction of the pool (``0.25``) or a
percentage (``"25%"``). Whole numbers are counts; numbers with a decimal point must lie in
``(0, 1]`` and are fractions (``1.0`` is as many calls as pool texts); ``0`` means no expert.
"""
from __future__ import annotations

import math

from ..errors import InputError

_HOW = "give a count of expert calls (300), a fraction of the pool (0.25) or a percentage (25%)"


def parse_budget(value, *, flag: str = "--budget"):
    """A budget as given by a user (a string from the command line, or a number): an ``int``
    count or a ``float`` fraction in ``[0, 1]``; a one-line :class:`InputError` otherwise."""
    if isinstance(value, bool):
        raise InputError(f"{flag} {value!r}: {_HOW}")
    if isinstance(value, str):
        raw = value.strip()
        try:
            if raw.endswith("%"):
                pct = float(raw[:-1])
                if not math.isfinite(pct) or not 0 <= pct <= 100:
                    raise InputError(f"{flag} {value}: a percentage must be from 0% to 100% of the pool; "
                                     "for more calls than pool texts give a count, e.g. 3000")
                return pct / 100.0
            value = int(raw) if raw.lstrip("+-").isdigit() else float(raw)
        except ValueError:
            raise InputError(f"{flag} {value!r}: {_HOW}") from None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{flag} {value!r}: {_HOW}") from None
    if math.isnan(number) or math.isinf(number):
        raise InputError(f"{flag} {value}: {_HOW}")
    if number < 0:
        raise InputError(f"{flag} {value}: must not be negative; 0 means no expert calls")
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        if number > 1:
            if number == int(number):
                return int(number)
            raise InputError(f"{flag} {value}: a fraction must be within 0 and 1; a count must be whole")
        return number
    return int(number)


def resolve_budget(budget, pool_size: int) -> int:
    """``budget`` (see :func:`parse_budget`) as a count of expert calls for a pool of ``pool_size``."""
    if budget is None:
        return 0
    value = parse_budget(budget, flag="budget")
    if isinstance(value, float):
        return int(math.floor(value * pool_size))
    return value
