"""Placeholder: being written (see the open issues)."""
from __future__ import annotations

from .errors import InputError


def command():
    """Not written yet."""
    raise InputError("this command is not written yet")
