"""Tests for redtext.io.records: reading and validating seed, pool, gold and description files."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from redtext.io.atomic import write_jsonl_atomic
from redtext.io.records import (
    Records,
    load_descriptions,
    load_gold,
    load_pool,
    load_seed,
    read_rows,
)
from redtext.errors import InputError, RedtextError

# --------------------------------------------------------------------------- helpers


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict], fieldnames: list[str] | None = None) -> Path:
    fieldnames = fieldnames or list(rows[0])
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fieldnames)
        w.writeheader()
        w.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


WRITERS = {"jsonl": write_jsonl, "ndjson": write_jsonl, "json": write_json, "csv": write_csv, "parquet": write_parquet}


def write(tmp_path: Path, name: str, rows: list[dict]) -> Path:
    return WRITERS[name.rsplit(".", 1)[1]](tmp_path / name, rows)


def expect_error(fn, *args, match: list[str], fname: str, **kwargs) -> str:
    """Call fn, expect an InputError whose message is one line, starts with fname and contains every `match` piece."""
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg, msg
    assert len(msg.splitlines()) == 1, msg
    assert msg.startswith(fname), msg
    for piece in match:
        assert piece in msg, f"{piece!r} not in {msg!r}"
    return msg


SEED = [
    {"text": "book a flight to paris", "label": "travel"},
    {"text": "what is my balance", "label": "banking"},
    {"text": "cancel my flight", "label": "travel"},
    {"text": "transfer 20 dollars", "label": "banking"},
]

FORMATS = ["jsonl", "ndjson", "json", "csv", "parquet"]


# --------------------------------------------------------------------------- errors module


def test_input_error_is_redtext_error():
    assert issubclass(InputError, RedtextError)
    assert issubclass(RedtextError, Exception)


# --------------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_seed_happy_path_every_format(tmp_path, fmt):
    path = write(tmp_path, f"seed.{fmt}", SEED)
    rec = load_seed(path)
    assert isinstance(rec, Records)
    assert rec.texts == [r["text"] for r in SEED]
    assert rec.labels == [r["label"] for r in SEED]
    assert rec.ids == ["row-0", "row-1", "row-2", "row-3"]
    assert rec.warnings == []
    assert len(rec) == 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_pool_happy_path_uses_id_column(tmp_path, fmt):
    rows = [{"id": f"doc-{i}", "text": f"text number {i}", "extra": "x"} for i in range(5)]
    path = write(tmp_path, f"pool.{fmt}", rows)
    rec = load_pool(path)
    assert rec.ids == [f"doc-{i}" for i in range(5)]
    assert rec.texts == [f"text number {i}" for i in range(5)]
    assert rec.labels is None
    assert rec.warnings == []


def test_load_pool_without_id_column_uses_row_numbers(tmp_path):
    path = write_jsonl(tmp_path / "pool.jsonl", [{"text": "a"}, {"text": "b"}, {"text": "c"}])
    rec = load_pool(path)
    assert rec.ids == ["row-0", "row-1", "row-2"]
    assert rec.texts == ["a", "b", "c"]


def test_numeric_ids_become_strings(tmp_path):
    path = write_jsonl(tmp_path / "pool.jsonl", [{"id": 10, "text": "a"}, {"id": 7, "text": "b"}])
    assert load_pool(path).ids == ["10", "7"]
    path = write_parquet(tmp_path / "pool.parquet", [{"id": 10, "text": "a"}, {"id": 7, "text": "b"}])
    assert load_pool(path).ids == ["10", "7"]


def test_seed_uses_id_column_when_present(tmp_path):
    rows = [dict(r, id=f"s{i}") for i, r in enumerate(SEED)]
    rec = load_seed(write_csv(tmp_path / "seed.csv", rows))
    assert rec.ids == ["s0", "s1", "s2", "s3"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "json"])
def test_custom_column_names(tmp_path, fmt):
    rows = [{"utterance": r["text"], "intent": r["label"], "uid": f"u{i}"} for i, r in enumerate(SEED)]
    path = write(tmp_path, f"seed.{fmt}", rows)
    rec = load_seed(path, text_col="utterance", label_col="intent", id_col="uid")
    assert rec.texts == [r["text"] for r in SEED]
    assert rec.labels == [r["label"] for r in SEED]
    assert rec.ids == ["u0", "u1", "u2", "u3"]

    pool = load_pool(path, text_col="utterance", id_col="uid")
    assert pool.texts == [r["text"] for r in SEED]
    assert pool.ids == ["u0", "u1", "u2", "u3"]


def test_texts_are_kept_as_given_labels_are_stripped(tmp_path):
    rows = [
        {"text": "  leading and trailing  ", "label": " a "},
        {"text": "multi\nline", "label": "b"},
    ]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert rec.texts == ["  leading and trailing  ", "multi\nline"]
    assert rec.labels == ["a", "b"]


def test_numeric_json_texts_and_labels_become_strings(tmp_path):
    rows = [{"text": 42, "label": 1}, {"text": 3.5, "label": 2}, {"text": "x", "label": 2.0}]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert rec.texts == ["42", "3.5", "x"]
    assert rec.labels == ["1", "2", "2"]


def test_non_string_text_is_an_error(tmp_path):
    rows = [{"text": "fine", "label": "a"}, {"text": ["a", "list"], "label": "b"}]
    expect_error(load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["row 2", "text", "list"])


def test_utf8_bom_and_non_ascii(tmp_path):
    path = tmp_path / "seed.csv"
    path.write_bytes("\ufefftext,label\nçà et là,fr\nüber,de\n".encode("utf-8"))
    rec = load_seed(path)
    assert rec.texts == ["çà et là", "über"]
    assert rec.labels == ["fr", "de"]


def test_csv_quoted_multiline_and_huge_field(tmp_path):
    big = "word " * 100_000  # larger than csv's default 128 KiB field limit
    rows = [{"text": "line one\nline two, with comma", "label": "a"}, {"text": big, "label": "b"}]
    rec = load_seed(write_csv(tmp_path / "seed.csv", rows))
    # read whole (no field-size error), then cut to what anything downstream reads, with a warning
    from redtext.io.records import MAX_TEXT_CHARS

    assert rec.texts == ["line one\nline two, with comma", big[:MAX_TEXT_CHARS]]
    assert any("cut to their first" in w and "rows 2" in w for w in rec.warnings)


def test_jsonl_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text('{"text": "a"}\n\n   \n{"text": "b"}\n\n', encoding="utf-8")
    rec = load_pool(path)
    assert rec.texts == ["a", "b"]
    assert rec.ids == ["row-0", "row-1"]


def test_jsonl_crlf_and_indented_lines(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_bytes(b'{"text": "a"}\r\n   {"text": "b"}  \r\n\t{"text": "c"}')
    assert load_pool(path).texts == ["a", "b", "c"]


def test_jsonl_two_objects_on_one_line_is_error(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"} {"text": "c"}\n', encoding="utf-8")
    expect_error(load_pool, path, fname="pool.jsonl", match=["line 2", "not valid JSON", "Extra data"])


def test_read_rows_returns_requested_columns(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"text": "a", "label": "l", "other": 1}, {"text": "b", "label": None}])
    assert read_rows(path, columns=["text", "label"]) == [{"text": "a", "label": "l"}, {"text": "b", "label": None}]
    assert read_rows(path, columns=["text"], optional=["id", "other"]) == [
        {"text": "a", "other": 1},
        {"text": "b", "other": None},
    ]


# --------------------------------------------------------------------------- file-level errors


def test_missing_file(tmp_path):
    expect_error(load_seed, tmp_path / "nope.jsonl", fname="nope.jsonl", match=["not found"])


def test_directory_is_not_a_file(tmp_path):
    d = tmp_path / "data.jsonl"
    d.mkdir()
    expect_error(load_pool, d, fname="data.jsonl", match=["directory"])


def test_unknown_extension(tmp_path):
    path = tmp_path / "seed.txt"
    path.write_text("hello\n")
    expect_error(load_seed, path, fname="seed.txt", match=[".jsonl", ".ndjson", ".json", ".csv", ".parquet"])


@pytest.mark.parametrize(
    "name,content",
    [
        ("seed.jsonl", b""),
        ("seed.jsonl", b"  \n\n \t \n"),
        ("seed.csv", b""),
        ("seed.csv", b"\n\n"),
        ("seed.csv", b"text,label\n"),
        ("seed.json", b"[]"),
        ("seed.json", b"   "),
        ("seed.parquet", b""),
    ],
)
def test_empty_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    expect_error(load_seed, path, fname=name, match=["is empty"])


def test_empty_parquet_with_schema(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), path)
    expect_error(load_pool, path, fname="pool.parquet", match=["is empty"])


def test_invalid_utf8_names_byte_and_offset(tmp_path):
    path = tmp_path / "seed.jsonl"
    good = '{"text": "ok", "label": "a"}\n'.encode()
    path.write_bytes(good + b'{"text": "caf\xe9", "label": "b"}\n')
    offset = len(good) + len(b'{"text": "caf')
    msg = expect_error(load_seed, path, fname="seed.jsonl", match=["not valid UTF-8", "0xe9", f"offset {offset}", "iconv"])
    assert "re-encode" in msg


@pytest.mark.parametrize("name", ["seed.csv", "seed.json"])
def test_invalid_utf8_other_text_formats(tmp_path, name):
    path = tmp_path / name
    body = b"text,label\nabc,a\n\xff\xfe,b\n" if name.endswith(".csv") else b'[{"text": "\xff", "label": "a"}]'
    path.write_bytes(body)
    offset = body.index(b"\xff")
    expect_error(load_seed, path, fname=name, match=["not valid UTF-8", "0xff", f"offset {offset}"])


def test_invalid_utf8_deep_in_large_file_reports_absolute_offset(tmp_path):
    path = tmp_path / "pool.jsonl"
    line = b'{"text": "some reasonably long text here"}\n'
    head = line * 40_000  # > 1 MiB, so the bad byte is past the first read chunk
    path.write_bytes(head + b'{"text": "\x80"}\n')
    offset = len(head) + len(b'{"text": "')
    expect_error(load_pool, path, fname="pool.jsonl", match=["0x80", f"offset {offset}"])


def test_jsonl_parse_error_names_line(tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": oops}\n', encoding="utf-8")
    expect_error(load_seed, path, fname="seed.jsonl", match=["line 3", "not valid JSON"])


def test_jsonl_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text('{"text": "a"}\n["b"]\n', encoding="utf-8")
    expect_error(load_pool, path, fname="pool.jsonl", match=["line 2", "object"])


def test_json_that_is_jsonl_suggests_rename(tmp_path):
    path = tmp_path / "pool.json"
    path.write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    expect_error(load_pool, path, fname="pool.json", match=[".jsonl"])


def test_json_must_be_an_array(tmp_path):
    path = tmp_path / "pool.json"
    path.write_text('{"text": "a"}', encoding="utf-8")
    expect_error(load_pool, path, fname="pool.json", match=["array"])


def test_broken_parquet(tmp_path):
    path = tmp_path / "pool.parquet"
    path.write_bytes(b"this is not parquet at all")
    expect_error(load_pool, path, fname="pool.parquet", match=["Parquet"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_text_column_names_it_and_lists_columns(tmp_path, fmt):
    rows = [{"sentence": r["text"], "label": r["label"]} for r in SEED]
    path = write(tmp_path, f"seed.{fmt}", rows)
    msg = expect_error(load_seed, path, fname=f"seed.{fmt}", match=["'text'", "'sentence'", "'label'", "--text-col"])
    assert "--label-col" not in msg


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_missing_label_column_names_it(tmp_path, fmt):
    rows = [{"text": r["text"], "category": r["label"]} for r in SEED]
    path = write(tmp_path, f"seed.{fmt}", rows)
    expect_error(load_seed, path, fname=f"seed.{fmt}", match=["'label'", "'category'", "--label-col"])


def test_missing_column_suggests_case_variant(tmp_path):
    path = write_csv(tmp_path / "pool.csv", [{"Text": "a"}])
    expect_error(load_pool, path, fname="pool.csv", match=["did you mean 'Text'", "--text-col"])


def test_custom_text_col_missing(tmp_path):
    path = write_jsonl(tmp_path / "pool.jsonl", [{"text": "a"}])
    expect_error(load_pool, path, text_col="body", fname="pool.jsonl", match=["'body'", "'text'", "--text-col"])


def test_read_rows_checks_columns(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"a": 1}])
    expect_error(read_rows, path, columns=["a", "b"], fname="x.jsonl", match=["'b'", "'a'"])


# --------------------------------------------------------------------------- seed rules


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
def test_seed_blank_text_names_first_row(tmp_path, blank):
    rows = list(SEED) + [{"text": blank, "label": "travel"}, {"text": "", "label": "banking"}]
    msg = expect_error(
        load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["row 5", "blank text", "remove"]
    )
    assert "row 6" not in msg


def test_seed_blank_text_in_csv(tmp_path):
    rows = [dict(r) for r in SEED]
    rows[2]["text"] = "  "
    expect_error(load_seed, write_csv(tmp_path / "seed.csv", rows), fname="seed.csv", match=["row 3", "blank text"])


def test_seed_missing_text_key_counts_as_blank(tmp_path):
    rows = list(SEED) + [{"label": "travel"}]
    expect_error(load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["row 5", "blank text"])


@pytest.mark.parametrize("blank", ["", "  ", None, "MISSING"])
def test_seed_blank_label_names_row(tmp_path, blank):
    rows = [dict(r) for r in SEED]
    if blank == "MISSING":
        del rows[1]["label"]
    else:
        rows[1]["label"] = blank
    expect_error(
        load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["row 2", "blank label", "'label'"]
    )


def test_seed_first_offending_row_wins_between_text_and_label(tmp_path):
    rows = [dict(r) for r in SEED]
    rows[1]["label"] = ""
    rows[3]["text"] = ""
    expect_error(load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["row 2", "blank label"])


def test_seed_exact_duplicates_dropped_with_warning(tmp_path):
    rows = list(SEED) + [dict(SEED[0]), dict(SEED[1]), dict(SEED[0])]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert rec.texts == [r["text"] for r in SEED]
    assert rec.labels == [r["label"] for r in SEED]
    assert rec.ids == ["row-0", "row-1", "row-2", "row-3"]
    assert len(rec.warnings) == 1
    assert "dropped 3 duplicate rows" in rec.warnings[0]
    assert rec.warnings[0].startswith("seed.jsonl")


def test_seed_duplicates_compare_without_surrounding_whitespace(tmp_path):
    rows = list(SEED) + [{"text": "  " + SEED[0]["text"] + "\n", "label": "travel"}]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert len(rec) == 4
    assert "dropped 1 duplicate rows" in rec.warnings[0]


def test_seed_conflicting_labels_is_error(tmp_path):
    long_text = "please " * 30  # longer than 60 characters
    rows = list(SEED) + [{"text": long_text, "label": "travel"}, {"text": long_text, "label": "banking"}]
    msg = expect_error(
        load_seed,
        write_jsonl(tmp_path / "seed.jsonl", rows),
        fname="seed.jsonl",
        match=["'travel'", "'banking'", "row 5", "row 6", "conflict", "…"],
    )
    assert long_text not in msg  # truncated
    assert long_text[:60] in msg


def test_seed_conflicting_labels_with_newline_text_stays_one_line(tmp_path):
    rows = list(SEED) + [{"text": "two\nlines", "label": "travel"}, {"text": "two\nlines", "label": "banking"}]
    expect_error(load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["two\\nlines"])


def test_seed_single_example_labels_warn(tmp_path):
    rows = list(SEED) + [{"text": f"t{i}", "label": f"solo{i}"} for i in range(7)]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert len(rec) == 11
    (warning,) = rec.warnings
    assert "labels with a single example: solo0, solo1, solo2, solo3, solo4, …" in warning
    assert "solo5" not in warning
    assert "add more examples" in warning


def test_seed_single_example_two_labels(tmp_path):
    rows = [{"text": "x", "label": "a"}, {"text": "y", "label": "b"}, {"text": "z", "label": "b"}]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert rec.warnings == ["seed.jsonl: labels with a single example: a; add more examples for reliable results"]


def test_seed_needs_two_labels(tmp_path):
    rows = [{"text": "x", "label": "a"}, {"text": "y", "label": "a"}]
    expect_error(load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["'a'", "2 different labels"])


def test_seed_two_labels_only_after_dropping_duplicates_still_ok(tmp_path):
    rows = [{"text": "x", "label": "a"}, {"text": "x", "label": "a"}, {"text": "y", "label": "b"}]
    rec = load_seed(write_jsonl(tmp_path / "seed.jsonl", rows))
    assert rec.labels == ["a", "b"]


def test_seed_duplicate_ids(tmp_path):
    rows = [dict(r, id=i) for i, r in enumerate(SEED)]
    rows[3]["id"] = 1
    expect_error(
        load_seed, write_jsonl(tmp_path / "seed.jsonl", rows), fname="seed.jsonl", match=["id '1'", "rows 2 and 4", "unique"]
    )


# --------------------------------------------------------------------------- gold


def test_gold_follows_seed_rules_but_keeps_repeated_rows(tmp_path):
    rows = [dict(r, id=f"g{i}") for i, r in enumerate(SEED)] + [dict(SEED[0], id="g9")]
    rec = load_gold(write_jsonl(tmp_path / "gold.jsonl", rows))
    assert rec.ids == ["g0", "g1", "g2", "g3", "g9"]
    assert rec.labels == ["travel", "banking", "travel", "banking", "travel"]
    assert rec.warnings == []

    rows[-1]["label"] = "banking"
    expect_error(load_gold, write_jsonl(tmp_path / "gold.jsonl", rows), fname="gold.jsonl", match=["conflict"])

    bad = [dict(r) for r in SEED]
    bad[2]["label"] = None
    expect_error(load_gold, write_csv(tmp_path / "gold.csv", bad), fname="gold.csv", match=["row 3", "blank label"])


# --------------------------------------------------------------------------- pool rules


def test_pool_blank_texts_skipped_with_warning(tmp_path):
    rows = [{"id": f"p{i}", "text": f"text {i}"} for i in range(14)]
    for i in (3, 8, 11):
        rows[i]["text"] = "   " if i != 8 else None
    rec = load_pool(write_jsonl(tmp_path / "pool.jsonl", rows))
    assert rec.ids == [f"p{i}" for i in range(14) if i not in (3, 8, 11)]
    assert rec.texts == [f"text {i}" for i in range(14) if i not in (3, 8, 11)]
    assert rec.warnings == ["pool.jsonl: skipped 3 blank texts (rows 4, 9, 12)"]


def test_pool_blank_texts_lists_at_most_five_rows(tmp_path):
    rows = [{"text": "" if i % 2 else f"t{i}"} for i in range(20)]
    rec = load_pool(write_csv(tmp_path / "pool.csv", rows))
    assert len(rec) == 10
    assert rec.ids == [f"row-{i}" for i in range(0, 20, 2)]  # ids keep the file's row numbers
    assert rec.warnings == ["pool.csv: skipped 10 blank texts (rows 2, 4, 6, 8, 10, …)"]


def test_pool_all_blank_is_error(tmp_path):
    path = write_jsonl(tmp_path / "pool.jsonl", [{"text": " "}, {"text": None}])
    expect_error(load_pool, path, fname="pool.jsonl", match=["blank", "--text-col"])


def test_pool_duplicate_texts_kept_with_warning(tmp_path):
    rows = [{"text": "a"}, {"text": "b"}, {"text": "a"}, {"text": "c"}, {"text": "b"}, {"text": "a"}]
    rec = load_pool(write_parquet(tmp_path / "pool.parquet", rows))
    assert rec.texts == ["a", "b", "a", "c", "b", "a"]
    assert rec.ids == [f"row-{i}" for i in range(6)]
    assert rec.warnings == ["pool.parquet: 2 texts occur more than once; each copy gets the same label"]


def test_pool_duplicate_ids(tmp_path):
    rows = [{"id": "x", "text": "a"}, {"id": "y", "text": "b"}, {"id": "x", "text": "c"}]
    expect_error(load_pool, write_csv(tmp_path / "pool.csv", rows), fname="pool.csv", match=["id 'x'", "rows 1 and 3"])


def test_pool_blank_id_is_error(tmp_path):
    rows = [{"id": "x", "text": "a"}, {"id": "", "text": "b"}]
    expect_error(load_pool, write_csv(tmp_path / "pool.csv", rows), fname="pool.csv", match=["row 2", "blank id"])


def test_pool_nan_text_is_blank(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": pa.array([1.5, float("nan"), 2.0])}), path)
    rec = load_pool(path)
    assert rec.texts == ["1.5", "2.0"]
    assert rec.warnings == ["pool.parquet: skipped 1 blank texts (rows 2)"]


# --------------------------------------------------------------------------- descriptions


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "json"])
def test_descriptions_happy_path(tmp_path, fmt):
    rows = [{"label": "travel", "description": "Trips and flights."}, {"label": "banking", "description": " Money. "}]
    descs, warnings = load_descriptions(write(tmp_path, f"labels.{fmt}", rows), known_labels={"travel", "banking"})
    assert descs == {"travel": "Trips and flights.", "banking": "Money."}
    assert warnings == []


def test_descriptions_unknown_labels_ignored_with_warning(tmp_path):
    rows = [{"label": "travel", "description": "Trips."}] + [
        {"label": f"ghost{i}", "description": f"d{i}"} for i in range(6)
    ]
    descs, warnings = load_descriptions(write_jsonl(tmp_path / "labels.jsonl", rows), known_labels={"travel"})
    assert descs == {"travel": "Trips."}
    (w,) = warnings
    assert w.startswith("labels.jsonl")
    assert "6 labels" in w and "ghost0, ghost1, ghost2, ghost3, ghost4, …" in w and "ghost5" not in w


def test_descriptions_without_known_labels_keeps_all(tmp_path):
    rows = [{"label": "a", "description": "A"}, {"label": "b", "description": "B"}]
    assert load_descriptions(write_jsonl(tmp_path / "labels.jsonl", rows)) == ({"a": "A", "b": "B"}, [])


def test_descriptions_blank_description_ignored_with_warning(tmp_path):
    rows = [{"label": "a", "description": "A"}, {"label": "b", "description": "  "}, {"label": "c", "description": None}]
    descs, warnings = load_descriptions(write_jsonl(tmp_path / "labels.jsonl", rows), known_labels={"a", "b", "c"})
    assert descs == {"a": "A"}
    assert warnings == ["labels.jsonl: ignored 2 blank descriptions (labels b, c)"]


def test_descriptions_blank_label_ignored_with_warning(tmp_path):
    rows = [{"label": "a", "description": "A"}, {"label": "", "description": "orphan"}]
    descs, warnings = load_descriptions(write_csv(tmp_path / "labels.csv", rows))
    assert descs == {"a": "A"}
    assert warnings == ["labels.csv: ignored 1 rows with a blank label (rows 2)"]


def test_descriptions_duplicate_same_description_ok(tmp_path):
    rows = [{"label": "a", "description": "A"}, {"label": "a", "description": "A"}]
    assert load_descriptions(write_jsonl(tmp_path / "labels.jsonl", rows)) == ({"a": "A"}, [])


def test_descriptions_duplicate_conflict_is_error(tmp_path):
    rows = [{"label": "a", "description": "A"}, {"label": "b", "description": "B"}, {"label": "a", "description": "other"}]
    expect_error(
        load_descriptions,
        write_jsonl(tmp_path / "labels.jsonl", rows),
        fname="labels.jsonl",
        match=["'a'", "rows 1 and 3", "different descriptions"],
    )


def test_descriptions_missing_column(tmp_path):
    path = write_jsonl(tmp_path / "labels.jsonl", [{"label": "a", "desc": "A"}])
    expect_error(load_descriptions, path, fname="labels.jsonl", match=["'description'", "'desc'"])


def test_descriptions_empty_file(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("label,description\n", encoding="utf-8")
    expect_error(load_descriptions, path, fname="labels.csv", match=["is empty"])


# --------------------------------------------------------------------------- writing


def test_write_jsonl_atomic_roundtrip(tmp_path):
    path = tmp_path / "out" / "preds.jsonl"
    rows = [{"id": "1", "label": "café"}, {"id": "2", "label": "日本"}]
    assert write_jsonl_atomic(path, iter(rows)) == 2
    raw = path.read_text(encoding="utf-8")
    assert "café" in raw and "日本" in raw  # ensure_ascii=False
    assert [json.loads(line) for line in raw.splitlines()] == rows
    assert os.listdir(path.parent) == ["preds.jsonl"]  # no temp files left
    # The written file loads back as a pool.
    assert load_pool(path, text_col="label").ids == ["1", "2"]


def test_write_jsonl_atomic_crash_keeps_old_file(tmp_path):
    path = tmp_path / "preds.jsonl"
    write_jsonl_atomic(path, [{"a": 1}])
    before = path.read_bytes()

    def rows():
        yield {"a": 2}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, rows())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["preds.jsonl"]


def test_write_jsonl_atomic_respects_umask(tmp_path):
    path = tmp_path / "preds.jsonl"
    write_jsonl_atomic(path, [])
    assert path.read_bytes() == b""
    old = os.umask(0o022)
    os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~old
