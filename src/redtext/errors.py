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


class StorageError(RedtextError):
    """A file or folder could not be written (read-only, full disk, no permission)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


class Interrupted(RedtextError):
    """Ctrl-C (SIGINT) or a KeyboardInterrupt: what was answered is kept, the run can be resumed."""

    exit_code = 130


#: errno values that mean "this file system will not take the write": reported as StorageError
STORAGE_ERRNOS = {"ENOSPC", "EROFS", "EACCES", "EPERM", "EDQUOT", "EFBIG", "ENOENT", "ENOTDIR", "EISDIR"}


def storage_error(exc: BaseException, what: str, hint: str) -> "StorageError | None":
    """A one-line StorageError for an OSError or SQLite error that means the disk refused a write
    (``cannot write WHAT (reason); HINT``); None for any other error."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and errno.errorcode.get(exc.errno or 0) in STORAGE_ERRNOS:
        reason = str(exc.strerror or exc)
    elif isinstance(exc, sqlite3.OperationalError) and any(w in str(exc) for w in
                                                          ("disk is full", "readonly database", "disk I/O error",
                                                           "unable to open database")):
        reason = str(exc)
    else:
        return None
    return StorageError(f"cannot write {what} ({reason}); {hint}", reason)


def one_line(text: object) -> str:
    """``text`` on one line: every run of whitespace, line breaks included, as one space."""
    return " ".join(str(text).split())


def error_text(exc: BaseException, limit: int = 300) -> str:
    """``"TypeName: message"`` of an exception on one line, at most ``limit`` characters."""
    text = one_line(exc) or type(exc).__name__
    text = text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[:limit - 1] + "…"
