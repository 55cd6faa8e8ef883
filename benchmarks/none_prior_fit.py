"""How the open-world prior fits the answers (issue #15): one `redtext bench` split of clinc150
`--oos` (careful expert, flat_al), its last calibration's answers refitted with the expert's
false-yes ratio on out-of-scope texts held at each value of ``evidence.NONE_FPR_RATIO``.

For each ratio: the best log-likelihood and its sharpness and prior (α, β), and, against the
ratio the fit picks, what each group of asked texts adds to the log-likelihood (out of scope, in
scope with a yes, in scope without one). Then the share of the asked texts truly out of scope in
bands of the fitted prior, and how well two scores separate the asked out-of-scope texts (AUROC):
the classifier's top probability when first asked (the prior's input) and the cosine to the
nearest seed text.

    .venv/bin/python benchmarks/none_prior_fit.py [--seed 1]

Prints the figures; writes nothing. About 2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    import numpy as np
    from sklearn.metrics import roc_auc_score

    import redtext.core.audit as audit
    from first_loop import first_loop
    from redtext.core import evidence as ev
    from redtext.core.openworld import NONE_LABEL

    seen: dict = {}
    run_audit = audit.run_audit

    def keep(loop, delivered, result, n, seed):  # the first loop's result, as the audit gets it
        seen.setdefault("result", result)
        seen.setdefault("problem", loop.p)
        return run_audit(loop, delivered, result, n, seed)

    audit.run_audit = keep
    model, _, gold_by_id = first_loop("clinc150", seed=args.seed, profile="careful", oos=True, k=30, budget=0.25)
    led, rates, p = seen["result"].ledger, seen["result"].rates, seen["problem"]
    gold = [gold_by_id[i] for i in model.pool_ids_]
    print(f"clinc150 --oos seed {args.seed}: {rates}; fitted sharpness {led.sharpness:.2f}, prior {led.none_prior}")

    ids, texts = [], []
    for i, (scores, items) in led.evidence(rates).items():  # the texts the fit uses: those with an answer
        if any(ev._answered(x) for x in items):
            ids.append(i)
            texts.append((np.asarray(scores, dtype=np.float64), items))
    oos = np.array([gold[i] == NONE_LABEL for i in ids])
    yes = np.array([sum(1 for x in a if ev._answered(x) and ev._said_yes(x)) for _, a in texts], dtype=np.float64)
    no = np.array([sum(1 for x in a if ev._answered(x) and not ev._said_yes(x)) for _, a in texts], dtype=np.float64)
    log_top = np.log(np.maximum([s[0] for s, _ in texts], 1e-6))
    alpha, beta = np.meshgrid(ev.NONE_ALPHA, ev.NONE_BETA, indexing="ij")
    alpha, beta = alpha.reshape(-1), beta.reshape(-1)
    pi = 1.0 / (1.0 + np.exp(-(alpha[:, None] + beta[:, None] * (log_top - log_top.mean())[None, :])))
    tpr, fpr = rates.tpr, min(rates.fpr, rates.tpr - 1e-3)

    def scale(r: float) -> np.ndarray:  # P(answers | no label) at ratio r over its value at ratio 1
        return (ev.none_fpr(fpr, r) / fpr) ** yes * ((1.0 - ev.none_fpr(fpr, r)) / (1.0 - fpr)) ** no

    def per_text(a: float, r: float, j: int) -> np.ndarray:
        evidence, none_lik = ev._evidence(texts, led.n_labels, a, tpr, fpr)
        return np.log(np.maximum((1.0 - pi[j]) * evidence + pi[j] * none_lik * scale(r), 1e-300))

    best: dict[float, tuple] = {}
    for a in ev.SHARPNESS_GRID:
        evidence, none_lik = ev._evidence(texts, led.n_labels, float(a), tpr, fpr)
        for r in ev.NONE_FPR_RATIO:
            ll = np.sum(np.log(np.maximum((1.0 - pi) * evidence + pi * none_lik * scale(r), 1e-300)), axis=1)
            j = int(np.argmax(ll))
            if ll[j] > best.get(float(r), (-np.inf,))[0]:
                best[float(r)] = (float(ll[j]), float(a), j)
    print(f"{'ratio':>8s} {'log-lik':>9s} {'sharp':>6s} {'alpha':>6s} {'beta':>6s}")
    for r, (ll, a, j) in sorted(best.items()):
        print(f"{r:8.4f} {ll:9.2f} {a:6.2f} {alpha[j]:6.1f} {beta[j]:6.1f}")
    top_r = max(best, key=lambda r: best[r][0])
    low_r = min(best)
    diff = per_text(best[top_r][1], top_r, best[top_r][2]) - per_text(best[low_r][1], low_r, best[low_r][2])
    print(f"log-likelihood at ratio {top_r} minus at {low_r}, by group of asked texts:")
    for name, mask in (("out of scope", oos), ("in scope, a yes", ~oos & (yes > 0)), ("in scope, no yes", ~oos & (yes == 0))):
        print(f"  {name:18s} {int(mask.sum()):5d} texts {diff[mask].sum():+8.2f}")
    fitted = pi[best[top_r][2]]
    print("fitted P(no label)   texts  truly out of scope")
    for lo, hi in ((0, .5), (.5, .8), (.8, .95), (.95, 1.01)):
        m = (fitted >= lo) & (fitted < hi)
        if m.any():
            print(f"  [{lo:.2f}, {min(hi, 1):.2f})  {int(m.sum()):6d}  {oos[m].mean():.3f}")
    xs = p.X_seed / np.linalg.norm(p.X_seed, axis=1, keepdims=True)
    xp = p.X_pool[ids] / np.linalg.norm(p.X_pool[ids], axis=1, keepdims=True)
    print(f"AUROC, asked out-of-scope texts: top probability {roc_auc_score(oos, -log_top):.3f}, "
          f"nearest seed text's cosine {roc_auc_score(oos, -(xp @ xs.T).max(axis=1)):.3f}")


if __name__ == "__main__":
    main()
