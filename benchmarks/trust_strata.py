"""Where a run's accuracy estimate goes wrong (issue #14): one `redtext bench-trust` cell — a
dataset at its protocol's k and budget, one expert profile, one seed — with the estimate of every
stratum beside the stratum's true accuracy (the bench knows the gold).

The strata are the estimate's own (:mod:`redtext.core.audit`): texts the expert labelled, texts
asked about whose delivered label is the classifier's, and the texts only the classifier
labelled by confidence band. For a band, the audit's sample is shown too: how many were audited,
the share the expert said yes to and the share truly right. Last, the asked texts delivered the
classifier's label, split by what the expert said about that label (rejected it, was never asked
about it, was offered it in a choice and picked none or another).

    .venv/bin/python benchmarks/trust_strata.py banking77 strict [--seed 0]

Prints the figures; writes nothing.
"""
from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", choices=("clinc150", "banking77", "onet_titles"))
    ap.add_argument("profile", choices=("careful", "agreeable", "strict"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import numpy as np

    from first_loop import first_loop
    from redtext.bench.trust import PROTOCOL
    from redtext.core.audit import BANDS, band_of

    k, budget = PROTOCOL[args.dataset]
    m, texts, gold_by_id = first_loop(args.dataset, k=k, budget=budget, seed=args.seed, profile=args.profile)
    gold = np.array([gold_by_id[i] for i in m.pool_ids_], dtype=object)
    right = np.array(m.pool_labels_, dtype=object) == gold
    source = np.array(m.pool_source_, dtype=object)
    conf = np.asarray(m.pool_confidence_, dtype=np.float64)
    asked = {t for t, *_ in m.answers_}
    was_asked = np.array([t in asked for t in texts])
    est, q = m.estimate_, m.expert_quality_
    print(f"{args.dataset} {args.profile} seed {args.seed}: pool {right.mean():.4f}, estimate "
          f"{est['pool_accuracy']:.4f} [{est['low']:.4f}, {est['high']:.4f}]; measured tpr {q['tpr']:.3f} "
          f"({q['positives']} known-yes questions), fpr {q['fpr']:.3f} ({q['negatives']} known-no)")
    strata = {"expert": source == "expert", "asked classifier": (source == "classifier") & was_asked}
    unasked, band = (source == "classifier") & ~was_asked, band_of(conf)
    for b, top in enumerate(BANDS):
        strata[f"classifier, confidence ≤ {min(top, 1.0):.2f}"] = unasked & (band == b)
    row_of = {pid: i for i, pid in enumerate(m.pool_ids_)}
    audited = {row_of[pid]: v for pid, v in m.audited_.items() if v is not None}
    print(f"{'stratum':32s} {'texts':>6s} {'true':>7s} {'estimate [95 % interval]':>26s}  audit")
    for name, mask in strata.items():
        e = est["strata"].get(name)
        if e is None or not mask.any():
            continue
        line = (f"{name:32s} {int(mask.sum()):6d} {right[mask].mean():7.4f} "
                f"{e['accuracy']:8.4f} [{e['low']:.4f}, {e['high']:.4f}]")
        sample = [i for i in audited if mask[i]]
        if sample:
            line += (f"  {len(sample)} asked, yes {np.mean([float(audited[i]) for i in sample]):.3f}, "
                     f"right {right[sample].mean():.3f}")
        print(line)
    # the asked texts delivered the classifier's label, by what the expert said about that label
    said: dict = {}
    for t, lab, v, _ in m.answers_:
        said.setdefault(t, {})[lab] = v
    labels = np.array(m.pool_labels_, dtype=object)

    def what(t, lab) -> str:
        v = said.get(t, {}).get(lab, "never")
        return "label never asked" if v == "never" else "label rejected" if v is False else "label offered, not picked"

    kind = np.array([what(t, lab) for t, lab in zip(texts, labels)], dtype=object)
    for name in ("label rejected", "label never asked", "label offered, not picked"):
        mask = strata["asked classifier"] & (kind == name)
        if mask.any():
            print(f"  asked classifier, {name:26s} {int(mask.sum()):6d} {right[mask].mean():7.4f}  mean confidence "
                  f"{conf[mask].mean():.4f}")

if __name__ == "__main__":
    main()
