"""A simulated expert that answers from hidden gold labels — for benchmarks only.

Error model (seeded, and the same answer every time the same question is asked), with a
*profile* of two rates — ``tpr`` = P(yes | the true label) and ``fpr`` = P(yes | the most
confusable wrong label):

- asked about the true label: says "yes" with probability ``tpr`` (else a false reject);
- asked about a wrong label ``L``: says "yes" with probability ``fpr · w(L)``, where ``w`` is
  the squared cosine similarity between ``L``'s vector and the true label's, divided by that of
  the wrong label *most* similar to the true one. So the most confusable wrong label is falsely
  accepted at the full rate, unrelated labels almost never — errors cluster between similar
  labels, as an LLM's do. Without label vectors every wrong label gets the full rate.
- a text whose gold is "fits no label" (the open world's
  :data:`~redtext.core.openworld.NONE_LABEL`): ``careful`` says no to every label; ``agreeable``
  says yes to label ``L`` with probability ``0.40 · w``, ``strict`` with ``0.01 · w``, where ``w``
  is the text's squared cosine to ``L``'s vector divided by that of its most similar label (the
  text's vector from ``text_vectors``; without it ``w = 1``: every asked label as plausible as the
  best);
- a text with no gold label: abstains.

Choice questions (which of these candidates, or none?), same profiles: when the true label is
offered, it is picked with probability ``tpr``; otherwise ``careful`` and ``agreeable`` pick the
offered label most similar to it and ``strict`` (whose errors are rejections) answers "none of
them". When the true label is not offered, the offered label most similar to it is picked with
probability ``fpr · w`` (``w`` as above, of that label) and "none of them" is the answer
otherwise; for a text that fits no label, with probability ``NONE_YES · w`` of its most similar
offered label.

The profiles (:data:`PROFILES`): ``careful`` (tpr 0.95, fpr 0.05: what ``accuracy=0.95`` has
always meant), ``agreeable`` (tpr 0.97, fpr 0.40 — an LLM-like yes-bias: published LLM judges
accept plausible wrong answers far more often than they reject right ones) and ``strict``
(tpr 0.85, fpr 0.01). ``accuracy=a`` is the careful profile with tpr ``a`` and fpr ``1 - a``.
"""
from __future__ import annotations

import hashlib
from typing import Mapping, Sequence

import numpy as np

from ..core.openworld import NONE_LABEL
from .base import ABSTAINED, BaseExpert, ChoiceQuestion, Question, Verdict


def _uniform(*parts) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


#: profile -> P(yes | the text fits no label, the label most similar to it)
NONE_YES = {"careful": 0.0, "agreeable": 0.40, "strict": 0.01}

#: profile -> (P(yes | true label), P(yes | the most confusable wrong label))
PROFILES = {"careful": (0.95, 0.05), "agreeable": (0.97, 0.40), "strict": (0.85, 0.01)}


class SimulatedOracle(BaseExpert):
    batch_size = 1024

    def __init__(self, gold_by_text: Mapping[str, str], *, gold_by_id: Mapping[str, str] | None = None,
                 accuracy: float | None = None, seed: int = 0, profile: str = "careful",
                 text_vectors: Mapping[str, np.ndarray] | None = None):
        if profile not in PROFILES:
            raise ValueError(f"unknown oracle profile {profile!r}; use one of {', '.join(PROFILES)}")
        if accuracy is not None and not 0.0 <= accuracy <= 1.0:
            raise ValueError("accuracy must be within [0, 1]")
        self.gold_by_text = dict(gold_by_text)
        self.gold_by_id = dict(gold_by_id or {})
        self.profile = profile
        if accuracy is not None and profile == "careful":
            self.tpr, self.fpr = accuracy, 1.0 - accuracy
        else:
            self.tpr, self.fpr = PROFILES[profile]
        self.accuracy = self.tpr  # what older callers read
        self.seed = seed
        self.text_vectors = dict(text_vectors or {})   # text id -> unit vector (texts that fit no label)
        if profile == "careful":  # the name of answers stored before profiles existed
            self.name = f"oracle(accuracy={self.tpr},seed={seed})"
        else:
            self.name = f"oracle({profile},seed={seed})"
        self._weights: dict[str, dict[str, float]] | None = None
        self._labels: list[str] | None = None
        self._sim: np.ndarray | None = None
        self.calls = 0

    def prepare(self, labels: Sequence[str], label_vectors: np.ndarray | None) -> None:
        """Receive the label space; the vectors set how confusable two labels are."""
        self._labels = list(labels)
        self._index = {name: i for i, name in enumerate(self._labels)}
        if label_vectors is None:
            self._sim = self._unit = None
            return
        v = np.asarray(label_vectors, dtype=np.float64)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        self._unit = v
        sim = np.clip(v @ v.T, 0.0, None) ** 2
        np.fill_diagonal(sim, 0.0)
        top = sim.max(axis=1, keepdims=True)
        top[top == 0] = 1.0
        self._sim = sim / top  # row = true label, column = asked label

    def gold(self, question: Question) -> str | None:
        label = self.gold_by_id.get(question.text_id)
        return label if label is not None else self.gold_by_text.get(question.text)

    def _false_accept_rate(self, asked: str, true: str) -> float:
        err = self.fpr
        if self._sim is None:
            return err
        i, j = self._index.get(true), self._index.get(asked)
        if i is None or j is None:
            return err
        return err * float(self._sim[i, j])

    def _none_weight(self, q: Question) -> float:
        """``w`` for a text that fits no label (see the module doc)."""
        vec = self.text_vectors.get(q.text_id)
        j = self._index.get(q.label) if self._labels is not None else None
        if vec is None or getattr(self, "_unit", None) is None or j is None:
            return 1.0
        sims = np.clip(self._unit @ np.asarray(vec, dtype=np.float64), 0.0, None) ** 2
        top = float(sims.max())
        return float(sims[j] / top) if top > 0 else 0.0

    def ask(self, questions: Sequence[Question]) -> list[Verdict]:
        out: list[Verdict] = []
        for q in questions:
            self.calls += 1
            true = self.gold(q)
            if true is None:
                out.append(None)
                continue
            u = _uniform(self.seed, q.text, q.label)
            if true == NONE_LABEL:
                out.append(u < NONE_YES[self.profile] * self._none_weight(q))
            elif q.label == true:
                out.append(u >= 1.0 - self.tpr)
            else:
                out.append(u < self._false_accept_rate(q.label, true))
        return out

    def _similarity(self, true: str, asked: str) -> float:
        if self._sim is None:
            return 1.0
        i, j = self._index.get(true), self._index.get(asked)
        return 1.0 if i is None or j is None else float(self._sim[i, j])

    def ask_choice(self, questions: Sequence[ChoiceQuestion]) -> list:
        out: list = []
        for q in questions:
            self.calls += 1
            true = self.gold(q)
            labels = q.labels
            if true is None or not labels:
                out.append(ABSTAINED)
                continue
            u = _uniform(self.seed, "choice", q.text, *labels)
            if true == NONE_LABEL:
                weights = [self._none_weight(Question(q.text_id, q.text, lab, c)) for lab, c in zip(labels, q.candidates)]
                j = int(np.argmax(weights))
                out.append(labels[j] if u < NONE_YES[self.profile] * weights[j] else None)
                continue
            others = [lab for lab in labels if lab != true]
            nearest = max(others, key=lambda lab: self._similarity(true, lab)) if others else None
            if true in labels:
                if u < self.tpr:
                    out.append(true)
                else:
                    out.append(None if self.profile == "strict" or nearest is None else nearest)
                continue
            out.append(nearest if u < self.fpr * self._similarity(true, nearest) else None)
        return out
