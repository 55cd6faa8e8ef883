"""Save and load a trained model bundle: a folder with ``manifest.json`` and ``weights.npz``.

No pickle: the subset classifiers are stored as plain arrays, so a bundle is safe to load
and readable from any language. The manifest records the format version, the redtext
version and the embedder identity; loading an incompatible bundle fails with a clear message.

Format 2 adds the training rows (``training.jsonl`` with text and label, ``training.npz`` with
their vectors) so ``redtext add-classes`` and ``redtext retrain`` can retrain the subsets that
change without the original run. Format 1 bundles still load for classification.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import InputError
from .atomic import temp_path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, manifest: dict, name: str) -> None:
    """``path/name`` matches the checksum the manifest recorded (bundles from 0.1 recorded none)."""
    expected = (manifest.get("checksums") or {}).get(name)
    if expected is None:
        return
    try:
        actual = _sha256(path / name)
    except OSError as exc:
        raise InputError(f"{path / name} cannot be read ({exc.strerror or exc}); re-save the model") from None
    if actual != expected:
        raise InputError(f"{path / name} does not match the checksum in {path / 'manifest.json'} (damaged or "
                         "edited); re-save the model or train it again")

FORMAT = "redtext-model"
FORMAT_VERSION = 2
READABLE = (1, 2)


def save_bundle(path: str | Path, *, classes: list[str], models: list, embedder: dict, params: dict,
                extra: dict | None = None, training: tuple | None = None) -> Path:
    from .._version import __version__

    path = Path(path)
    if path.exists() and not (path / "manifest.json").exists() and any(path.iterdir()):
        raise InputError(f"{path} exists and is not a redtext model folder; choose another path")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    tmp.mkdir()
    try:
        arrays = {}
        for j, m in enumerate(models):
            arrays[f"labels_{j}"] = np.asarray(m.labels, dtype=np.int64)
            arrays[f"coef_{j}"] = np.asarray(m.coef, dtype=np.float32)
            arrays[f"intercept_{j}"] = np.asarray(m.intercept, dtype=np.float32)
            arrays[f"noise_{j}"] = np.asarray([m.has_noise])
            arrays[f"n_noise_{j}"] = np.asarray([m.n_noise])
        np.savez(tmp / "weights.npz", **arrays)
        if training is not None:
            texts, labels, X = training
            np.savez(tmp / "training.npz", X=np.asarray(X, dtype=np.float32))
            with open(tmp / "training.jsonl", "w", encoding="utf-8") as fh:
                for t, lab in zip(texts, labels):
                    fh.write(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n")
        checksums = {f.name: _sha256(f) for f in sorted(tmp.iterdir())}
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "redtext_version": __version__,
                    "embedder": embedder, "classes": list(classes), "n_subsets": len(models),
                    "params": params, "has_training": training is not None, "checksums": checksums,
                    **(extra or {})}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        if path.exists():
            old = temp_path(path)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_bundle(path: str | Path) -> tuple[dict, list[dict]]:
    """``(manifest, models)``: each model a dict of the arrays :func:`save_bundle` stored
    (``labels``, ``coef``, ``intercept``, ``has_noise``, ``n_noise``)."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(f"{path} is not a redtext model (no manifest.json); pass the model/ folder of a run")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{manifest_path} is corrupt (not JSON); re-save the model") from None
    if manifest.get("format") != FORMAT:
        raise InputError(f"{path} is not a redtext model bundle; pass the model/ folder of a run")
    version = manifest.get("format_version")
    if version not in READABLE:
        raise InputError(f"{path} has model format {version}, this redtext ({FORMAT_VERSION}) cannot read it; "
                         f"use redtext {manifest.get('redtext_version', '?')} or retrain")
    if not isinstance(manifest.get("classes"), list) or not isinstance(manifest.get("n_subsets"), int) or \
            not isinstance(manifest.get("embedder"), dict):
        raise InputError(f"{manifest_path} lacks classes, n_subsets or embedder (damaged or edited); re-save the model")
    verify(path, manifest, "weights.npz")
    try:
        with np.load(path / "weights.npz") as w:
            models = [{"labels": w[f"labels_{j}"], "coef": w[f"coef_{j}"], "intercept": w[f"intercept_{j}"],
                       "has_noise": bool(w[f"noise_{j}"][0]), "n_noise": int(w[f"n_noise_{j}"][0])}
                      for j in range(manifest["n_subsets"])]
    except Exception:  # noqa: BLE001 - a truncated or foreign file: zipfile, numpy and pickle errors alike
        raise InputError(f"{path}/weights.npz is missing or corrupt; re-save the model") from None
    _check_shapes(path, manifest, models)
    return manifest, models


def _check_shapes(path: Path, manifest: dict, models: list[dict]) -> None:
    """The arrays fit together and fit the manifest (a bundle edited by hand fails here, not later)."""
    n_classes = len(manifest["classes"]) + bool(manifest.get("open_world"))  # "no label" is the last
    dim = (manifest.get("embedder") or {}).get("dim")
    seen = set()
    for j, m in enumerate(models):
        labels, coef, intercept = m["labels"], m["coef"], m["intercept"]
        ok = (labels.ndim == 1 and coef.ndim == 2 and intercept.ndim == 1 and len(labels) >= 1
              and coef.shape[0] == intercept.shape[0] and coef.shape[0] >= len(labels) - (1 if m["has_noise"] else 0)
              and (dim is None or coef.shape[1] == dim) and labels.min() >= 0 and labels.max() < n_classes)
        if not ok:
            raise InputError(f"{path}/weights.npz: subset classifier {j} does not fit the {n_classes} labels of "
                             "manifest.json (damaged or edited); re-save the model or train it again")
        seen.update(labels.tolist())
    if len(seen) != n_classes:
        raise InputError(f"{path}/weights.npz covers {len(seen)} of the {n_classes} labels in manifest.json "
                         "(damaged or edited); re-save the model or train it again")


def load_training(path: str | Path) -> tuple[list[str], list[str], np.ndarray]:
    """The training rows kept in a bundle: (texts, labels, vectors)."""
    path = Path(path)
    if not (path / "training.jsonl").is_file():
        raise InputError(f"{path} was saved without its training rows (model format 1); "
                         "retrain it with this redtext (`redtext run`) to grow it")
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8")) if (path / "manifest.json").is_file() \
        else {}
    verify(path, manifest, "training.jsonl")
    verify(path, manifest, "training.npz")
    texts, labels = [], []
    try:
        with open(path / "training.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                texts.append(row["text"])
                labels.append(row["label"])
        with np.load(path / "training.npz") as z:
            X = z["X"]
    except Exception:  # noqa: BLE001 - truncated or foreign files
        raise InputError(f"{path}/training.jsonl or training.npz is corrupt; re-save the model") from None
    if len(X) != len(texts):
        raise InputError(f"{path}: training.jsonl has {len(texts)} rows but training.npz {len(X)}; re-save the model")
    return texts, labels, X
