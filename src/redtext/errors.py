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
