"""Validating the user's files: seed examples, the pool, gold labels, label descriptions.

Conventions used by every loader (the formats themselves: :mod:`.formats`):

* Row numbers in messages count data rows from 1 (a CSV header and blank JSONL lines
  are not rows). Generated ids are ``row-<N>`` with N counted from 0, so the row that
  messages call "row 1" gets the id ``row-0`` when the file has no id column.
* Texts are kept exactly as given; surrounding whitespace only matters for the blank
  check. Numbers are turned into strings; null, a missing key and NaN count as blank.
* Labels and ids are turned into strings (integral floats such as ``3.0`` become
  ``"3"``, so Parquet/pandas float columns match CSV text); labels are stripped of
  surrounding whitespace, ids are not.
* Every string must be valid Unicode: JSON can spell a lone surrogate (``"\\ud800"``), which
  no UTF-8 file or database can hold — such a row is refused. Labels may not hold control
  characters (they end up in XML and on screens), and a label written once as a number and
  once as a string (``1`` and ``"1"``) is refused rather than merged.
* A text longer than :data:`MAX_TEXT_CHARS` characters is cut to that length, with a warning
  naming the rows: nothing downstream reads further (the embedder reads about 256 tokens, an
  expert is shown at most 4,000 characters), and whole megabytes per text would only cost memory.
* Every error is an :class:`~redtext.errors.InputError` whose message is one line,
  starts with the file's name and says how to fix the problem. Documented,
  non-fatal handling (skipped blank pool rows, dropped duplicate seed rows, ...) is
  reported as one-line strings in ``Records.warnings``.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .formats import (LAST_COLUMNS, SUPPORTED_EXTENSIONS, _error, _escape_breaks, _list_some, _read_columns, _row,
                      _snippet, read_rows)

__all__ = [
    "Records",
    "SUPPORTED_EXTENSIONS",
    "read_rows",
    "load_seed",
    "load_pool",
    "load_gold",
    "load_descriptions",
]

MAX_TEXT_CHARS = 10_000


@dataclass(frozen=True)
class Records:
    """What a file held after validation. All lists have one entry per kept row."""

    ids: list[str]
    texts: list[str]
    labels: list[str] | None  # None when no label column was requested
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)


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


def _check_unicode(name: str, what: str, values: list[Any]) -> None:
    """Every string in ``values`` encodes to UTF-8 (no lone surrogates); else a one-line error."""
    try:
        "\n".join(v for v in values if type(v) is str).encode("utf-8")
        return
    except UnicodeEncodeError:
        pass
    for i, v in enumerate(values):
        if type(v) is str:
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as e:
                raise _error(f"{name} row {_row(i)}: invalid unicode in the {what} (a lone surrogate "
                             f"{repr(v[e.start])[1:-1]} at character {e.start + 1}); fix or remove the row") from None


def _cap_texts(name: str, texts: list[Any]) -> list[str]:
    """Cut texts longer than MAX_TEXT_CHARS in place; the warning naming the rows, if any."""
    long = [i for i, t in enumerate(texts) if type(t) is str and len(t) > MAX_TEXT_CHARS]
    for i in long:
        texts[i] = texts[i][:MAX_TEXT_CHARS]
    if not long:
        return []
    return [_escape_breaks(f"{name}: {len(long)} texts longer than {MAX_TEXT_CHARS} characters were cut to their "
                           f"first {MAX_TEXT_CHARS} (rows {_list_some([_row(i) for i in long])}); nothing reads "
                           "further: the embedder reads about 256 tokens, an expert sees 4000 characters")]


def _check_labels(name: str, raw: list[Any], labels: list[str], label_col: str) -> list[str]:
    """Control characters, a label spelled as a number and as a string, surrounding spaces."""
    for i, lab in enumerate(labels):
        bad = next((c for c in lab if ord(c) < 32 or ord(c) == 127), None)
        if bad is not None:
            raise _error(f"{name} row {_row(i)}: the label {lab!r} holds a control character ({bad!r}); labels are "
                         "names: remove it")
    as_number = {labels[i] for i, v in enumerate(raw) if _is_number(v)}
    if as_number:
        clash = next((i for i, v in enumerate(raw) if type(v) is str and labels[i] in as_number), None)
        if clash is not None:
            raise _error(f"{name} row {_row(clash)}: the label {labels[clash]!r} appears both as a number and as a "
                         f"string in column {label_col!r}; write every label the same way (e.g. all as strings)")
    trimmed = [i for i, v in enumerate(raw) if type(v) is str and v != v.strip()]
    if trimmed:
        return [_escape_breaks(f"{name}: spaces around {len(trimmed)} labels were removed (rows "
                               f"{_list_some([_row(i) for i in trimmed])}); \"{raw[trimmed[0]]}\" is read as "
                               f"\"{labels[trimmed[0]]}\"")]
    return []


def _id_hint(name: str, columns: list[str], text_col: str, id_col: str) -> list[str]:
    """A pool without the id column gets row numbers: when another column looks like ids, say so."""
    looks = [c for c in columns if c != text_col and (c.lower() in ("id", "uid", "key") or
                                                       c.lower().endswith(("_id", "id", "_key")))]
    if not looks:
        return []
    return [_escape_breaks(f"{name} has no {id_col!r} column, so rows get the ids row-0, row-1, …; its column "
                           f"{looks[0]!r} looks like ids: pass --id-col {looks[0]}")]


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
    min_labels: int = 2,
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
    _check_unicode(name, "text", texts)
    _check_unicode(name, "label", raw_labels)
    _check_unicode(name, f"id ({id_col!r})", cols.get(id_col) or [])
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
    warnings: list[str] = _check_labels(name, raw_labels, labels, label_col) + _cap_texts(name, texts)

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
        warnings.append(_escape_breaks(f"{name}: dropped {dropped} duplicate rows (same text and label; the first copy is kept)"))
        ids = [ids[i] for i in keep]
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]

    counts = Counter(labels)
    if len(counts) < min_labels:
        only = next(iter(counts))
        raise _error(
            f"{name}: all rows have the same label ({only!r}); at least 2 different labels are needed — "
            "add examples of the other labels"
        )
    if warn_single:
        singles = [lab for lab, c in counts.items() if c == 1]
        if singles:
            warnings.append(
                _escape_breaks(
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
    min_labels: int = 2,
) -> Records:
    """Load the labelled seed examples.

    Errors: blank text or label (first offending row), duplicate ids, the same text with
    different labels, fewer than ``min_labels`` distinct labels (2 to train a model; 1 for
    ``add-classes``, whose model has its labels). Handled with a warning: exact duplicate rows
    (same text and label) are dropped, keeping the first; labels with a single example.
    """
    return _load_labelled(
        path, text_col=text_col, label_col=label_col, id_col=id_col, drop_duplicates=True, warn_single=True,
        min_labels=min_labels,
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
    _check_unicode(name, "text", texts)
    _check_unicode(name, f"id ({id_col!r})", cols.get(id_col) or [])
    blank = _check_texts(name, texts)
    ids = _make_ids(name, cols.get(id_col), n, id_col)
    warnings: list[str] = _cap_texts(name, texts)
    if id_col not in cols:
        warnings += _id_hint(name, LAST_COLUMNS.get(str(path), []), text_col, id_col)
    if blank:
        if len(blank) == n:
            raise _error(f"{name}: all {n} texts are blank; check that --text-col names the column with the texts")
        rows = _list_some([_row(i) for i in blank])
        warnings.append(_escape_breaks(f"{name}: skipped {len(blank)} blank texts (rows {rows})"))
        skip = set(blank)
        ids = [v for i, v in enumerate(ids) if i not in skip]
        texts = [t for i, t in enumerate(texts) if i not in skip]
    if len(set(texts)) != len(texts):
        repeated = sum(1 for c in Counter(texts).values() if c > 1)
        warnings.append(_escape_breaks(f"{name}: {repeated} texts occur more than once; each copy gets the same label"))
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
    _check_unicode(name, "label", cols["label"])
    _check_unicode(name, "description", cols["description"])
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
            _escape_breaks(f"{name}: ignored {len(blank_labels)} rows with a blank label (rows {_list_some(blank_labels)})")
        )
    if blank_desc:
        shown = _list_some(list(dict.fromkeys(blank_desc)))
        warnings.append(_escape_breaks(f"{name}: ignored {len(blank_desc)} blank descriptions (labels {shown})"))
    if known_labels is not None:
        unknown = [lab for lab in out if lab not in known_labels]
        if unknown:
            for lab in unknown:
                del out[lab]
            warnings.append(
                _escape_breaks(
                    f"{name}: ignored descriptions of {len(unknown)} labels that are not in the seed: "
                    f"{_list_some(unknown)}; check their spelling"
                )
            )
    return out, warnings
