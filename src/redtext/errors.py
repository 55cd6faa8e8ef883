"""Exceptions that redtext reports to the user.

Every ``RedtextError`` carries a message meant to be printed as-is: one line that
says what is wrong and how to fix it. The CLI prints ``str(e)`` and exits with
status 2; anything that is not a ``RedtextError`` is a bug.
"""

from __future__ import annotations


class RedtextError(Exception):
    """Base class. str(e) is ONE line saying what is wrong and how to fix it; the CLI prints it and exits 2."""

    exit_code = 2


class InputError(RedtextError):
    """Bad user input (files, columns, values)."""


class ExpertError(RedtextError):
    """The expert failed (raised, or answered malformed batches); the run can be resumed."""

    exit_code = 1


def one_line(text: object) -> str:
    """``text`` on one line: every run of whitespace, line breaks included, as one space."""
    return " ".join(str(text).split())


def error_text(exc: BaseException, limit: int = 300) -> str:
    """``"TypeName: message"`` of an exception on one line, at most ``limit`` characters."""
    text = one_line(exc) or type(exc).__name__
    text = text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 1] + "…"
