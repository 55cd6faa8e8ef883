"""Where the default loop's errors are on an open pool (issue #15; `--closed`: the closed one): one `redtext bench` split,
its ``flat_al`` loop's wrong pool texts counted by kind and by what the expert said about them.

- kind: ``in->none`` (a text with a label delivered "no label"), ``none->lab`` (a text that fits
  no label given one), ``lab->lab`` (the wrong label);
- source: ``expert`` or ``classifier`` (the delivered row's source);
- for texts with a label, what the expert said about the true label: ``yes``, ``no``, ``abst``,
  ``unasked`` (the text was asked about, its true label never), ``text-unasked``; for texts that fit
  no label: ``anyyes`` (a yes to some label), ``asked``, ``unasked``;
- last, the texts delivered with a label the expert did not say yes to although it said yes to
  one, and how many of them rightly.

    .venv/bin/python benchmarks/open_errors.py clinc150 [--seed 1] [--profile careful] [--closed]

(clinc150 runs with ``--oos``; any other dataset with ``--unknown-classes 0.25``, budgets as
benchmarks/open_world.py.) Prints the figures; writes nothing.
"""
from __future__ import annotations

import argparse
import collections


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", default="careful")
    ap.add_argument("--closed", action="store_true", help="the closed pool (no --oos, no unknown classes)")
    args = ap.parse_args()
    import numpy as np

    from first_loop import first_loop
    from redtext.core.openworld import NONE_LABEL

    kw = ({"oos": True, "k": 30, "budget": 0.25} if args.dataset == "clinc150"
          else {"unknown": 0.25, "k": 30, "budget": 0.3})
    if args.closed:
        kw = {"k": 30, "budget": kw["budget"]}
    model, texts, gold_by_id = first_loop(args.dataset, seed=args.seed, profile=args.profile, **kw)
    gold = np.array([gold_by_id[i] for i in model.pool_ids_], dtype=object)
    got = np.array([NONE_LABEL if x is None else x for x in model.pool_labels_], dtype=object)
    source = np.array(model.pool_source_, dtype=object)
    answers = collections.defaultdict(list)
    for text, label, verdict, _ in model.answers_:
        answers[text].append((label, verdict))
    wrong, none = got != gold, gold == NONE_LABEL
    hit = (got == NONE_LABEL) & none
    print(f"{args.dataset} seed {args.seed} {args.profile}: pool {1 - wrong.mean():.4f}, wrong {int(wrong.sum())} "
          f"of {len(gold)}; none recall {hit.sum() / max(1, none.sum()):.3f}, precision "
          f"{hit.sum() / max(1, (got == NONE_LABEL).sum()):.3f}; known {np.mean((got == gold)[~none]):.4f}; "
          f"{model.expert_calls_} calls, stop {model.stop_reason_}")
    counts: collections.Counter = collections.Counter()
    for j in np.flatnonzero(wrong):
        said = answers.get(texts[j], [])
        if none[j]:
            kind = "none->lab"
            about = "anyyes" if any(v is True for _, v in said) else ("asked" if said else "unasked")
        else:
            kind = "in->none" if got[j] == NONE_LABEL else "lab->lab"
            on_truth = [v for lab, v in said if lab == gold[j]]
            about = ("text-unasked" if not said else "unasked" if not on_truth else "yes" if True in on_truth
                     else "no" if False in on_truth else "abst")
        counts[(kind, source[j], about)] += 1
    for (kind, src, about), n in counts.most_common():
        print(f"{n:6d}  {kind:10s} {src:11s} {about}")
    # texts delivered with a label the expert did not say yes to, though it said yes to one
    against = [j for j in range(len(gold)) if any(v is True for _, v in answers.get(texts[j], []))
               and got[j] not in {lab for lab, v in answers[texts[j]] if v is True}]
    print(f"delivered against a yes: {len(against)} pool texts, {sum(got[j] == gold[j] for j in against)} of them "
          f"rightly; {sum(got[j] == NONE_LABEL for j in against)} delivered \"no label\"")


if __name__ == "__main__":
    main()
