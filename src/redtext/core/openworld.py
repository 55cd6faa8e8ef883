"""The open world: pool texts that fit none of the labels.

Inside a fit, "fits no label" is one more class of the classifiers — index ``len(classes_)``,
named :data:`NONE_LABEL` in training rows — that the expert is never asked about: the loop
learns it from texts the expert rejected for every label worth asking
(:mod:`redtext.core.ledger`), and everything a user sees names it ``None``.
"""
from __future__ import annotations

from ..errors import InputError

#: the internal name of "fits no label" (open world): a training row's label, never a user's label
NONE_LABEL = "__none__"


def with_none(subsets: list[list[int]], none: int) -> list[list[int]]:
    """The classifiers' subsets with "no label" (index ``none``) added: into the one flat
    classifier, or as a subset of its own (its classifier's NOISE is every other label)."""
    if len(subsets) == 1:
        return [list(subsets[0]) + [none]]
    return [list(s) for s in subsets] + [[none]]


def check_inputs(X, y, pool, pool_ids) -> tuple[list[str], list[str], list[str], list[str]]:
    seed_texts = [str(t) for t in X]
    seed_labels = [str(lab) for lab in y]
    if NONE_LABEL in seed_labels:
        raise InputError(f"the seed uses the label {NONE_LABEL!r}, which redtext keeps for texts that fit no label; "
                         "rename it")
    if len(seed_texts) != len(seed_labels):
        raise InputError(f"{len(seed_texts)} seed texts but {len(seed_labels)} labels; pass one label per text")
    pool_texts = [] if pool is None else [str(t) for t in pool]
    pool_ids = [str(i) for i in pool_ids] if pool_ids is not None else [f"row-{i}" for i in range(len(pool_texts))]
    if len(pool_ids) != len(pool_texts):
        raise InputError(f"{len(pool_ids)} pool ids for {len(pool_texts)} pool texts; pass one id per text")
    return seed_texts, seed_labels, pool_texts, pool_ids
