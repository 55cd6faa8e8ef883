"""Proposals for new labels: the texts delivered as fitting no label, clustered.

:func:`propose` clusters the vectors of those texts with HDBSCAN (scikit-learn; clusters of any
shape and number, and texts that belong to none of them stay unclustered) and describes each
cluster by its size, its most typical texts (nearest its centroid) and keywords that set it
apart from the other clusters — class-based TF-IDF, as BERTopic does: a term's frequency in the
cluster's texts, weighed by how rare it is across all clusters. The suggested name joins the
top keywords; a user renames it, or an LLM describer does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: clusters smaller than this are not proposed
MIN_SIZE = 10
#: HDBSCAN's cost grows with the square of the texts: at most this many are clustered, the rest
#: join the cluster of their nearest clustered text when it is close enough
MAX_CLUSTERED = 4000


@dataclass
class Proposal:
    name: str                 # suggested label name
    keywords: list[str]
    members: np.ndarray       # indices into the texts given to :func:`propose`, most typical first
    size: int

    def as_dict(self, texts: list[str], n_typical: int = 5) -> dict:
        return {"name": self.name, "size": self.size, "keywords": self.keywords,
                "typical": [texts[i] for i in self.members[:n_typical].tolist()]}


def keywords(docs: list[list[str]], n: int = 4) -> list[list[str]]:
    """The ``n`` terms that best set each group of ``docs`` apart (class-based TF-IDF)."""
    from sklearn.feature_extraction.text import CountVectorizer

    joined = [" ".join(d) for d in docs]
    try:
        vec = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b")
        counts = vec.fit_transform(joined).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return [[] for _ in docs]
    terms = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    avg_words = counts.sum() / max(1, len(docs))
    idf = np.log(1.0 + avg_words / np.maximum(counts.sum(axis=0), 1.0))
    score = tf * idf
    return [[str(terms[j]) for j in np.argsort(-row, kind="stable")[:n] if row[j] > 0] for row in score]


def propose(X: np.ndarray, texts: list[str], *, min_size: int = MIN_SIZE, random_state: int = 0) -> list[Proposal]:
    """Clusters of ``texts`` (unit vectors ``X``) worth proposing as labels, largest first."""
    from sklearn.cluster import HDBSCAN

    X = np.asarray(X, dtype=np.float64)
    n = len(texts)
    if n < min_size:
        return []
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, MAX_CLUSTERED, replace=False)) if n > MAX_CLUSTERED else np.arange(n)
    found = HDBSCAN(min_cluster_size=max(2, min_size), min_samples=max(2, min(5, min_size)),
                    copy=True).fit(X[sample]).labels_
    labels = np.full(n, -1, dtype=np.int64)
    labels[sample] = found
    rest = np.setdiff1d(np.arange(n), sample)
    if len(rest) and (found >= 0).any():  # the texts left out join their nearest clustered text's cluster
        clustered = sample[found >= 0]
        sims = X[rest] @ X[clustered].T
        nearest = sims.argmax(axis=1)
        # close enough: within the similarity clustered texts have to their own cluster's centroid
        labels[rest] = np.where(sims.max(axis=1) >= 0.5, labels[clustered][nearest], -1)
    clusters = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    clusters = [c for c in clusters if len(c) >= min_size]
    if not clusters:
        return []
    words = keywords([[texts[i] for i in c] for c in clusters])
    out = []
    for members, kw in zip(clusters, words):
        centroid = X[members].mean(axis=0)
        order = members[np.argsort(-(X[members] @ centroid), kind="stable")]
        out.append(Proposal(name="_".join(kw[:3]) or f"cluster_{len(out) + 1}", keywords=kw, members=order,
                            size=len(members)))
    out.sort(key=lambda p: -p.size)
    seen: dict[str, int] = {}
    for p in out:  # names are unique
        seen[p.name] = seen.get(p.name, 0) + 1
        if seen[p.name] > 1:
            p.name = f"{p.name}_{seen[p.name]}"
    return out


def propose_pool(X_pool: np.ndarray, pool_texts: list[str], labels, *, random_state: int = 0) -> list[Proposal]:
    """:func:`propose` over the pool texts delivered with no label (``labels[i] is None``); the
    proposals' ``members`` index the pool."""
    rows = np.flatnonzero(np.array([lab is None for lab in labels], dtype=bool))
    props = propose(X_pool[rows], [pool_texts[i] for i in rows.tolist()], random_state=random_state)
    for p in props:
        p.members = rows[p.members]
    return props


def recovered(proposals: list[Proposal], gold: np.ndarray, hidden: list[str], *, min_texts: int = 10,
              threshold: float = 0.5) -> float | None:
    """The share of ``hidden`` labels with at least ``min_texts`` texts whose best-matching
    proposal has F1 ≥ ``threshold`` (a benchmark figure): ``gold`` holds the true label of every
    pool text and each proposal's ``members`` index the pool. None when no hidden label has
    enough texts."""
    gold = np.asarray(gold, dtype=object)
    counted = [lab for lab in hidden if int((gold == lab).sum()) >= min_texts]
    if not counted:
        return None
    hits = 0
    for lab in counted:
        truth = set(np.flatnonzero(gold == lab).tolist())
        best = 0.0
        for p in proposals:
            got = set(p.members.tolist())
            tp = len(truth & got)
            if tp:
                best = max(best, 2 * tp / (len(truth) + len(got)))
        hits += best >= threshold
    return hits / len(counted)
