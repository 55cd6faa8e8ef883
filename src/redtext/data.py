"""Reading and validating the user's files: seed examples, the pool, gold labels, label descriptions.

Supported formats, chosen by file extension:

* ``.jsonl`` / ``.ndjson`` -- one JSON object per line (blank lines are skipped);
* ``.json`` -- one JSON array of objects;
* ``.csv`` -- a header row, then one row per record (stdlib ``csv``, comma separated);
* ``.parquet`` -- read with pyarrow (imported only when needed).

Conventions used by every loader:

* Row numbers in messages count data rows from 1 (a CSV header and blank JSONL lines
  are not rows). Generated ids are ``row-<N>`` with N counted from 0, so the row that
  messages call "row 1" gets the id ``row-0`` when the file has no id column.
* A column "exists" in a JSON/JSONL file when at least one object has that key; rows
  without the key count as null.
* Texts are kept exactly as given; surrounding whitespace only matters for the blank
  check. Numbers are turned into strings; null, a missing key and NaN count as blank.
* Labels and ids are turned into strings (integral floats such as ``3.0`` become
  ``"3"``, so Parquet/pandas float columns match CSV text); labels are stripped of
  surrounding whitespace, ids are not.
* Every error is an :class:`~redtext.errors.InputError` whose message is one line,
  starts with the file's name and says how to fix the problem. Documented,
  non-fatal handling (skipped blank pool rows, dropped duplicate seed rows, ...) is
  reported as one-line strings in ``Records.warnings``.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from redtext.errors import InputError

__all__ = [
    "Records",
    "SUPPORTED_EXTENSIONS",
    "read_rows",
    "load_seed",
    "load_pool",
    "load_gold",
    "load_descriptions",
    "write_jsonl_atomic",
]

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


@dataclass(frozen=True)
class Records:
    """What a file held after validation. All lists have one entry per kept row."""

    ids: list[str]
    texts: list[str]
    labels: list[str] | None  # None when no label column was requested
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


# --------------------------------------------------------------------------- messages


def _one_line(msg: str) -> str:
    return msg.translate(_LINE_BREAKS_TABLE)


def _error(msg: str) -> InputError:
    return InputError(_one_line(msg))


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


def _missing_column_error(name: str, column: str, available: Sequence[str], fix: str) -> InputError:
    cols = [str(c) for c in available if c is not None]
    if cols:
        have = ", ".join(repr(c) for c in cols[:_MAX_COLUMNS_LISTED])
        if len(cols) > _MAX_COLUMNS_LISTED:
            have += f", … ({len(cols)} in all)"
        have = f"its columns are {have}"
    else:
        have = "it has no columns"
    lowered = {c.strip().lower(): c for c in cols}
    guess = lowered.get(column.strip().lower())
    if guess is None:
        close = difflib.get_close_matches(column, cols, n=1, cutoff=0.6)
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
    """Read the named columns of a file. Returns ({column: values}, number of data rows).

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
            raise _missing_column_error(path.name, col, available, fix)
    return columns, n_rows


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


# --------------------------------------------------------------------------- value checks


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _scalar_str(v: Any) -> str:
    """Label/id value as a string: integral floats lose the '.0' so 3.0 and 3 mean the same."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _type_error(name: str, i: int, what: str, v: Any) -> InputError:
    return _error(
        f"{name} row {_row(i)}: {what} is a {type(v).__name__}, expected a string; "
        f"store the {what} as plain text"
    )


def _check_texts(name: str, texts: list[Any]) -> list[int]:
    """Normalise the text column in place (numbers -> str, null/NaN -> None); return 0-based blank rows."""
    blank: list[int] = []
    add_blank = blank.append
    for i, v in enumerate(texts):
        if type(v) is str:
            if v and not v.isspace():
                continue
            add_blank(i)
        elif v is None:
            add_blank(i)
        elif _is_number(v):
            if v != v:  # NaN, e.g. an empty cell written by pandas
                texts[i] = None
                add_blank(i)
            else:
                texts[i] = str(v)
        else:
            raise _type_error(name, i, "text", v)
    return blank


def _label_or_none(name: str, i: int, v: Any) -> str | None:
    if type(v) is str:
        v = v.strip()
        return v or None
    if v is None:
        return None
    if _is_number(v):
        return None if v != v else _scalar_str(v)
    raise _type_error(name, i, "label", v)


def _make_ids(name: str, raw: list[Any] | None, n: int, id_col: str) -> list[str]:
    if raw is None:
        return [f"row-{i}" for i in range(n)]
    ids: list[str] = []
    append = ids.append
    for i, v in enumerate(raw):
        if type(v) is str:
            if v and not v.isspace():
                append(v)
                continue
        elif _is_number(v) and v == v:
            append(_scalar_str(v))
            continue
        elif v is not None:
            raise _type_error(name, i, f"id ({id_col!r})", v)
        raise _error(
            f"{name} row {_row(i)}: blank id in column {id_col!r}; give every row a unique id, "
            f"or remove the {id_col!r} column to use row numbers"
        )
    if len(set(ids)) != len(ids):
        first_row: dict[str, int] = {}
        for i, v in enumerate(ids):
            j = first_row.setdefault(v, i)
            if j != i:
                raise _error(
                    f"{name}: id {v!r} occurs more than once (rows {_row(j)} and {_row(i)}); "
                    f"ids in column {id_col!r} must be unique"
                )
    return ids


# --------------------------------------------------------------------------- loaders


def _load_labelled(
    path: str | os.PathLike[str],
    *,
    text_col: str,
    label_col: str,
    id_col: str,
    drop_duplicates: bool,
    warn_single: bool,
) -> Records:
    path = Path(path)
    name = path.name
    cols, n = _read_columns(
        path,
        [text_col, label_col],
        [id_col],
        fixes={
            text_col: "pass --text-col with the name of the column that holds the texts",
            label_col: "pass --label-col with the name of the column that holds the labels",
        },
    )
    texts = cols[text_col]
    raw_labels = cols[label_col]
    blank = _check_texts(name, texts)
    first_blank = blank[0] if blank else n
    # Report the first offending row, whether its text or its label is the problem.
    labels: list[str] = []
    for i, v in enumerate(raw_labels):
        if i == first_blank:
            raise _error(f"{name} row {_row(i)}: blank text; remove the row or fill it in")
        lab = _label_or_none(name, i, v)
        if lab is None:
            raise _error(
                f"{name} row {_row(i)}: blank label in column {label_col!r}; give every row a label or remove the row"
            )
        labels.append(lab)
    ids = _make_ids(name, cols.get(id_col), n, id_col)
    warnings: list[str] = []

    # Duplicate texts (compared without surrounding whitespace).
    seen: dict[str, int] = {}
    keep: list[int] = []
    dropped = 0
    for i, t in enumerate(texts):
        key = t.strip()
        j = seen.setdefault(key, i)
        if j == i:
            keep.append(i)
            continue
        if labels[j] != labels[i]:
            raise _error(
                f"{name}: text {_snippet(key)} has conflicting labels {labels[j]!r} (row {_row(j)}) and "
                f"{labels[i]!r} (row {_row(i)}); resolve the conflict by keeping one label for this text"
            )
        if drop_duplicates:
            dropped += 1
        else:
            keep.append(i)
    if dropped:
        warnings.append(_one_line(f"{name}: dropped {dropped} duplicate rows (same text and label; the first copy is kept)"))
        ids = [ids[i] for i in keep]
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]

    counts = Counter(labels)
    if len(counts) < 2:
        only = next(iter(counts))
        raise _error(
            f"{name}: all rows have the same label ({only!r}); at least 2 different labels are needed — "
            "add examples of the other labels"
        )
    if warn_single:
        singles = [lab for lab, c in counts.items() if c == 1]
        if singles:
            warnings.append(
                _one_line(
                    f"{name}: labels with a single example: {_list_some(singles)}; add more examples for reliable results"
                )
            )
    return Records(ids=ids, texts=texts, labels=labels, warnings=warnings)


def load_seed(
    path: str | os.PathLike[str],
    *,
    text_col: str = "text",
    label_col: str = "label",
    id_col: str = "id",
) -> Records:
    """Load the labelled seed examples.

    Errors: blank text or label (first offending row), duplicate ids, the same text with
    different labels, fewer than 2 distinct labels. Handled with a warning: exact duplicate
    rows (same text and label) are dropped, keeping the first; labels with a single example.
    """
    return _load_labelled(
        path, text_col=text_col, label_col=label_col, id_col=id_col, drop_duplicates=True, warn_single=True
    )


def load_gold(
    path: str | os.PathLike[str],
    *,
    text_col: str = "text",
    label_col: str = "label",
    id_col: str = "id",
) -> Records:
    """Load hidden gold labels for the simulated oracle.

    Same errors as :func:`load_seed`. Unlike the seed, rows repeating a text with the same
    label are all kept (so every id keeps its gold label) and single-example labels are not
    reported.
    """
    return _load_labelled(
        path, text_col=text_col, label_col=label_col, id_col=id_col, drop_duplicates=False, warn_single=False
    )


def load_pool(
    path: str | os.PathLike[str],
    *,
    text_col: str = "text",
    id_col: str = "id",
) -> Records:
    """Load the unlabelled pool. ``labels`` is None.

    Errors: missing text column, duplicate or blank ids, a pool with no non-blank text.
    Handled with a warning: blank texts are skipped (their ids are not returned); texts that
    occur more than once are kept, each copy with its own id.
    """
    path = Path(path)
    name = path.name
    cols, n = _read_columns(
        path,
        [text_col],
        [id_col],
        fixes={text_col: "pass --text-col with the name of the column that holds the texts"},
    )
    texts = cols[text_col]
    blank = _check_texts(name, texts)
    ids = _make_ids(name, cols.get(id_col), n, id_col)
    warnings: list[str] = []
    if blank:
        if len(blank) == n:
            raise _error(f"{name}: all {n} texts are blank; check that --text-col names the column with the texts")
        rows = _list_some([_row(i) for i in blank])
        warnings.append(_one_line(f"{name}: skipped {len(blank)} blank texts (rows {rows})"))
        skip = set(blank)
        ids = [v for i, v in enumerate(ids) if i not in skip]
        texts = [t for i, t in enumerate(texts) if i not in skip]
    if len(set(texts)) != len(texts):
        repeated = sum(1 for c in Counter(texts).values() if c > 1)
        warnings.append(_one_line(f"{name}: {repeated} texts occur more than once; each copy gets the same label"))
    return Records(ids=ids, texts=texts, labels=None, warnings=warnings)


def load_descriptions(
    path: str | os.PathLike[str],
    *,
    known_labels: set[str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Load label descriptions from rows of ``{"label": ..., "description": ...}``.

    Returns (label -> description, warnings). Labels and descriptions are stripped of
    surrounding whitespace. Rows with a blank label or description are ignored with a
    warning, as are labels not in ``known_labels`` (when given). Repeating a label with the
    same description is harmless; with a different description it is an error.
    """
    path = Path(path)
    name = path.name
    fix = "a descriptions file needs the columns 'label' and 'description'"
    cols, n = _read_columns(path, ["label", "description"], fixes={"label": fix, "description": fix})
    out: dict[str, str] = {}
    first_row: dict[str, int] = {}
    blank_labels: list[int] = []
    blank_desc: list[str] = []
    for i, (lv, dv) in enumerate(zip(cols["label"], cols["description"])):
        label = _label_or_none(name, i, lv)
        if label is None:
            blank_labels.append(_row(i))
            continue
        if type(dv) is str:
            desc = dv.strip()
        elif dv is None or (_is_number(dv) and dv != dv):
            desc = ""
        elif _is_number(dv):
            desc = str(dv)
        else:
            raise _type_error(name, i, "description", dv)
        if not desc:
            blank_desc.append(label)
            continue
        if label in out:
            if out[label] != desc:
                raise _error(
                    f"{name}: label {label!r} has two different descriptions (rows {_row(first_row[label])} and "
                    f"{_row(i)}); keep one row per label"
                )
            continue
        out[label] = desc
        first_row[label] = i
    warnings: list[str] = []
    if blank_labels:
        warnings.append(
            _one_line(f"{name}: ignored {len(blank_labels)} rows with a blank label (rows {_list_some(blank_labels)})")
        )
    if blank_desc:
        shown = _list_some(list(dict.fromkeys(blank_desc)))
        warnings.append(_one_line(f"{name}: ignored {len(blank_desc)} blank descriptions (labels {shown})"))
    if known_labels is not None:
        unknown = [lab for lab in out if lab not in known_labels]
        if unknown:
            for lab in unknown:
                del out[lab]
            warnings.append(
                _one_line(
                    f"{name}: ignored descriptions of {len(unknown)} labels that are not in the seed: "
                    f"{_list_some(unknown)}; check their spelling"
                )
            )
    return out, warnings


# --------------------------------------------------------------------------- writing


def write_jsonl_atomic(path: str | os.PathLike[str], rows: Iterable[dict]) -> int:
    """Write ``rows`` as JSONL (UTF-8, ``ensure_ascii=False``) so that ``path`` is either the old file or the
    complete new one: rows go to a temporary file in the same directory, which then replaces ``path``.

    Creates missing parent directories. Returns the number of rows written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.open with mode 0o666 lets the umask decide the permissions, as a plain open() would.
    for attempt in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 random collisions in a row
        raise OSError(f"cannot create a temporary file next to {path}")
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            # One encoder for all rows: json.dumps with keyword arguments builds a new one per call.
            encode = json.JSONEncoder(ensure_ascii=False).encode
            write = f.write
            for row in rows:
                write(encode(row))
                write("\n")
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not possible on every platform
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return n
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return n
