"""Reading the user's files into columns: the file formats, and what is wrong with a file.

Supported formats, chosen by file extension:

* ``.jsonl`` / ``.ndjson`` -- one JSON object per line (blank lines are skipped);
* ``.json`` -- one JSON array of objects;
* ``.csv`` -- a header row, then one row per record (stdlib ``csv``, comma separated);
* ``.parquet`` -- read with pyarrow (imported only when needed).

A column "exists" in a JSON/JSONL file when at least one object has that key; rows without the
key count as null. Every error is an :class:`~redtext.errors.InputError` whose message is one
line, starts with the file's name and says how to fix the problem. :mod:`.records` checks the
values.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from ..errors import InputError

_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_FORMATS)

_MAX_LISTED = 5  # row numbers / labels named in one warning
_SNIPPET_CHARS = 60  # characters of a text quoted in a message
_MAX_COLUMNS_LISTED = 20

# Characters that str.splitlines() treats as line breaks: never let them into a message.
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
_LINE_BREAKS_TABLE = str.maketrans(_LINE_BREAKS)

try:  # a very large limit, so one long text never breaks CSV reading
    csv.field_size_limit(sys.maxsize)
except OverflowError:  # C long is 32 bits on some platforms
    csv.field_size_limit(2**31 - 1)


class _Missing:
    """Marker for a key that a JSON object does not have (as opposed to an explicit null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


# --------------------------------------------------------------------------- messages


def _escape_breaks(msg: str) -> str:
    return msg.translate(_LINE_BREAKS_TABLE)


def _error(msg: str) -> InputError:
    return InputError(_escape_breaks(msg))


def _snippet(text: str) -> str:
    """A short, quoted, one-line rendering of a text for messages."""
    if len(text) > _SNIPPET_CHARS:
        text = text[:_SNIPPET_CHARS] + "…"
    return repr(text)


def _list_some(items: Sequence[Any], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(str(x) for x in items[:limit])
    return shown + (", …" if len(items) > limit else "")


def _row(i: int) -> int:
    """Row number used in messages (1-based) for a 0-based data-row index."""
    return i + 1


# --------------------------------------------------------------------------- reading


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        got = f"'{path.suffix}'" if path.suffix else "no extension"
        raise _error(
            f"{path.name}: unsupported file type ({got}); save it as .jsonl, .ndjson, .json, .csv or .parquet "
            "(the extension picks the format)"
        )
    return fmt


def _check_file(path: Path) -> None:
    name = path.name
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _error(f"{name}: file not found at '{os.path.abspath(path)}'; check the path and spelling") from None
    except OSError as e:
        raise _error(f"{name}: cannot access '{path}' ({e.strerror}); check the path and its permissions") from None
    if path.is_dir():
        raise _error(f"{name} is a directory, not a file; pass the path of a data file inside it")
    if not path.is_file():
        raise _error(f"{name} is not a regular file; pass the path of an ordinary data file")
    if st.st_size == 0:
        raise _error(f"{name} is empty; it needs at least one data row")


def _check_not_blank(path: Path) -> None:
    """Text formats: reject a file holding only whitespace (and maybe a BOM). Reads only up to the first data byte."""
    with _open_binary(path) as f:
        first = True
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                raise _error(f"{path.name} is empty (only whitespace); it needs at least one data row")
            if first and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
            first = False
            if chunk.strip():
                return


def _open_binary(path: Path):
    try:
        return open(path, "rb")
    except OSError as e:
        raise _error(f"{path.name}: cannot open ({e.strerror}); check the file's permissions") from None


def _open_text(path: Path, **kwargs: Any):
    try:
        return open(path, encoding="utf-8-sig", errors="strict", **kwargs)
    except OSError as e:
        raise _error(f"{path.name}: cannot open ({e.strerror}); check the file's permissions") from None


def _utf8_error(path: Path, byte: int | None = None, offset: int | None = None) -> InputError:
    """The error for a file that is not valid UTF-8; finds the first bad byte if not given."""
    if offset is None:
        byte, offset = _find_bad_utf8(path)
    where = f" (byte 0x{byte:02x} at offset {offset})" if offset is not None and byte is not None else ""
    return _error(
        f"{path.name} is not valid UTF-8{where}; re-encode it, e.g. "
        f"`iconv -f latin1 -t utf-8 {path.name} > utf8-{path.name}`"
    )


def _find_bad_utf8(path: Path) -> tuple[int | None, int | None]:
    """(byte, absolute offset) of the first byte that breaks strict UTF-8 decoding; only used on the error path."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    consumed = 0
    with _open_binary(path) as f:
        while True:
            chunk = f.read(1 << 20)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                base = consumed - len(pending)
                return e.object[e.start], base + e.start
            if not chunk:
                return None, None
            consumed += len(chunk)


def _separator_hint(name: str, cols: Sequence[str]) -> str | None:
    """A CSV read with commas whose one header cell holds semicolons or tabs: it uses those."""
    if name.lower().endswith(".csv") and len(cols) == 1:
        for sep, word in ((";", "semicolon"), ("\t", "tab")):
            if sep in cols[0]:
                return (f"{name} looks {word}-separated (its header is {cols[0]!r}); save it comma-separated, "
                        "or as .jsonl")
    return None


#: what the default columns are often called instead
_SYNONYMS = {
    "text": ("utterance", "sentence", "query", "message", "content", "body", "title", "question", "input", "msg",
             "description", "document", "review", "comment", "prompt"),
    "label": ("intent", "category", "class", "tag", "target", "topic", "y", "labels", "class_name", "occupation",
              "code"),
    "id": ("msg_id", "message_id", "uid", "uuid", "key", "row_id", "doc_id", "index", "idx"),
}


def _other(column: str) -> str:
    """The default column a missing one is most often confused with."""
    return {"text": "label", "label": "text"}.get(column.strip().lower(), "")


def _missing_column_error(name: str, column: str, available: Sequence[str], fix: str,
                          taken: Sequence[str] = ()) -> InputError:
    cols = [str(c) for c in available if c is not None]
    separated = _separator_hint(name, cols)
    if separated:
        return _error(separated)
    if cols:
        have = ", ".join(repr(c) for c in cols[:_MAX_COLUMNS_LISTED])
        if len(cols) > _MAX_COLUMNS_LISTED:
            have += f", … ({len(cols)} in all)"
        have = f"its columns are {have}"
    else:
        have = "it has no columns"
    free = [c for c in cols if c not in taken]  # never suggest a column already used for something else
    lowered = {c.strip().lower(): c for c in free}
    guess = lowered.get(column.strip().lower())
    if guess is None:  # the usual other names first: a text column is rarely called like the label one
        others = [c for c in free if c.strip().lower() not in _SYNONYMS.get(_other(column), ())]
        guess = next((lowered[w] for w in _SYNONYMS.get(column.strip().lower(), ()) if w in lowered), None)
        free = others
    if guess is None:
        close = difflib.get_close_matches(column, free, n=1, cutoff=0.6)
        guess = close[0] if close else None
    hint = f"; did you mean {guess!r}?" if guess is not None else ""
    return _error(f"{name} has no column {column!r} ({have}){hint}; {fix}")


def _read_columns(
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    fixes: dict[str, str] | None = None,
) -> tuple[dict[str, list[Any]], int]:
    """Read the named columns of a file. Returns ({column: values}, number of data rows); the
    file's column names are kept in :data:`LAST_COLUMNS` for hints about optional columns.

    Required columns are always in the result; optional ones only when the file has them.
    Values are raw Python values; ``None`` stands for null / missing / too-short CSV rows.
    """
    path = Path(path)
    fmt = _format_of(path)
    _check_file(path)
    if fmt != "parquet":
        _check_not_blank(path)
    wanted = list(dict.fromkeys([*required, *optional]))
    reader = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv, "parquet": _read_parquet}[fmt]
    columns, n_rows, available = reader(path, wanted)
    if n_rows == 0:
        raise _error(f"{path.name} is empty (no data rows); it needs at least one data row")
    fixes = fixes or {}
    for col in required:
        if col not in columns:
            fix = fixes.get(col, "pass --text-col/--label-col to name the columns to use")
            raise _missing_column_error(path.name, col, available, fix, taken=[c for c in wanted if c in columns])
    LAST_COLUMNS[str(path)] = [str(c) for c in available if c is not None]
    return columns, n_rows


#: file path -> its column names, as last read (so a loader can say which column looks like ids)
LAST_COLUMNS: dict[str, list[str]] = {}


def _present_json_columns(values_by_col: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Keep the columns some object had; turn 'missing key' markers into None."""
    out: dict[str, list[Any]] = {}
    for col, values in values_by_col.items():
        if all(v is _MISSING for v in values):
            continue
        if _MISSING in values:  # identity is checked first, so this is cheap
            values = [None if v is _MISSING else v for v in values]
        out[col] = values
    return out


def _read_jsonl(path: Path, wanted: list[str]) -> tuple[dict[str, list[Any]], int, list[str]]:
    name = path.name
    values: dict[str, list[Any]] = {c: [] for c in wanted}
    appenders = [(c, values[c].append) for c in wanted]
    keys_seen: dict[str, None] = {}
    loads = json.loads
    # Fast path: raw_decode skips json.loads' argument checks and second whitespace scan; any line it
    # does not accept cleanly (leading whitespace, trailing data, bad JSON) goes through json.loads.
    raw_decode = json.JSONDecoder().raw_decode
    n = 0
    lineno = 0
    with _open_text(path) as f:
        try:
            for lineno, line in enumerate(f, 1):
                if line.isspace():
                    continue
                try:
                    obj, end = raw_decode(line)
                    if end != len(line) and not line[end:].isspace():
                        raise ValueError("trailing data")
                except ValueError:
                    obj = _MISSING
                if obj is _MISSING:
                    try:
                        obj = loads(line)
                    except ValueError as e:
                        detail = f"{e.msg} at column {e.colno}" if isinstance(e, json.JSONDecodeError) else str(e)
                        raise _error(
                            f"{name} line {lineno}: not valid JSON ({detail}); "
                            "each line must hold one complete JSON object"
                        ) from None
                if type(obj) is not dict:
                    raise _error(
                        f"{name} line {lineno}: expected a JSON object like {{\"text\": ...}}, got {type(obj).__name__}; "
                        "write one object per line"
                    )
                if n < 1000:
                    keys_seen.update(dict.fromkeys(obj))
                get = obj.get
                for col, append in appenders:
                    append(get(col, _MISSING))
                n += 1
        except UnicodeDecodeError:
            raise _utf8_error(path) from None
    return _present_json_columns(values), n, list(keys_seen)


def _read_json(path: Path, wanted: list[str]) -> tuple[dict[str, list[Any]], int, list[str]]:
    name = path.name
    with _open_binary(path) as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        shift = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
        raise _utf8_error(path, raw[shift + e.start], shift + e.start) from None
    del raw
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg.startswith("Extra data"):
            raise _error(
                f"{name}: more than one JSON value (line {e.lineno}); a .json file must hold one JSON array — "
                "if it has one object per line, rename it to .jsonl"
            ) from None
        raise _error(
            f"{name}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno}); fix the file "
            "or save it as .jsonl with one object per line"
        ) from None
    if not isinstance(data, list):
        raise _error(
            f"{name}: expected a JSON array of objects, got a {type(data).__name__}; "
            "wrap the records in [ ... ] or save them as .jsonl with one object per line"
        )
    values: dict[str, list[Any]] = {c: [] for c in wanted}
    keys_seen: dict[str, None] = {}
    for i, obj in enumerate(data):
        if type(obj) is not dict:
            raise _error(
                f"{name} row {_row(i)}: expected a JSON object like {{\"text\": ...}}, got {type(obj).__name__}; "
                "the array must hold only objects"
            )
        if i < 1000:
            keys_seen.update(dict.fromkeys(obj))
        for col in wanted:
            values[col].append(obj.get(col, _MISSING))
    return _present_json_columns(values), len(data), list(keys_seen)


def _read_csv(path: Path, wanted: list[str]) -> tuple[dict[str, list[Any]], int, list[str]]:
    name = path.name
    values: dict[str, list[Any]] = {}
    n = 0
    with _open_text(path, newline="") as f:
        reader = csv.DictReader(f)
        try:
            header = list(reader.fieldnames or [])
            present = [c for c in wanted if c in header]
            values = {c: [] for c in present}
            appenders = [(c, values[c].append) for c in present]
            for row in reader:
                get = row.get
                for col, append in appenders:
                    append(get(col))
                n += 1
        except UnicodeDecodeError:
            raise _utf8_error(path) from None
        except csv.Error as e:
            raise _error(
                f"{name} line {reader.line_num}: cannot parse CSV ({e}); check quoting, or save the file as .jsonl"
            ) from None
    return values, n, header


def _read_parquet(path: Path, wanted: list[str]) -> tuple[dict[str, list[Any]], int, list[str]]:
    name = path.name
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise _error(
            f"{name}: reading .parquet files needs pyarrow; install it (`pip install pyarrow`) "
            "or convert the file to .jsonl"
        ) from None
    try:
        pf = pq.ParquetFile(path)
        header = list(pf.schema_arrow.names)
        present = [c for c in wanted if c in header]
        n = pf.metadata.num_rows
        table = pf.read(columns=present) if present and n else None
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for broken files
        msg = " ".join(str(e).split())[:200]
        raise _error(f"{name} is not a readable Parquet file ({msg}); re-export it, or save it as .jsonl or .csv") from None
    values: dict[str, list[Any]] = {}
    for col in present:
        values[col] = table.column(col).to_pylist() if table is not None else []
    return values, n, header


def read_rows(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str],
    optional: Sequence[str] = (),
) -> list[dict]:
    """Read a file into row dicts holding ``columns`` (required) and those of ``optional`` the file has.

    Validates that the file exists, is a regular non-empty file, is UTF-8 (text formats), parses,
    and has every required column. Values are raw (``None`` for null/missing); no other checks.
    """
    cols, n = _read_columns(Path(path), list(columns), list(optional))
    keys = list(cols)
    return [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))] if keys else [{} for _ in range(n)]
