"""The report page itself: HTML with embedded plots, no scripts, nothing fetched from elsewhere."""
from __future__ import annotations

import html
import time
from typing import Optional

from .data import MAX_PAIRS_SHOWN, MAX_PLOT_LABELS, MAX_REJECTED_SHOWN, RUNNER_UP_MARGIN, RunData

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
 padding:0 1em;color:#222;line-height:1.4;overflow-wrap:anywhere}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{font-size:.9em;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
figure{display:inline-block;margin:.5em 1em .5em 0}figcaption{font-size:.85em;color:#555}
img{max-width:100%;height:auto;border:1px solid #eee}.note{color:#555;font-size:.9em}
.stop{padding:.6em 1em;background:#fff8e1;border-left:4px solid #ffb300}
.wrap{max-width:28em}.scroll{overflow-x:auto;max-width:100%}
"""


def _classifier_summary(subset_size, n_labels: int) -> str:
    """"flat" or "subsets of N", with "(auto)" when the run left the choice to ``subset_size="auto"``."""
    from ...estimator import resolve_subset_size

    size = resolve_subset_size(subset_size, n_labels)
    text = "one flat classifier" if size is None else f"subsets of {size} labels"
    return text + (" (auto)" if subset_size == "auto" else "")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pct(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: object, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _more(total: int, what: str) -> str:
    if total <= MAX_PAIRS_SHOWN:
        return ""
    return f'<p class="note">The {MAX_PAIRS_SHOWN} most frequent of {total} {_e(what)} are shown.</p>'


def _table(table_id: str, headers: list, rows: list, numeric: set, row_attrs=None) -> str:
    out = [f'<div class="scroll"><table id="{_e(table_id)}"><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for k, row in enumerate(rows):
        attrs = row_attrs(k) if row_attrs else ""
        out.append(f"<tr{attrs}>")
        for j, cell in enumerate(row):
            cls = ' class="n"' if j in numeric else (' class="wrap"' if isinstance(cell, str) and len(cell) > 60
                                                      else "")
            out.append(f"<td{cls}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def render_html(data: RunData, summary: dict, plots: list) -> str:
    s = summary
    cfg = data.config
    params = cfg.get("params") or {}
    stop = s["stop"]
    title = f"redtext report — {data.run_dir.resolve().name}"
    generated = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
             f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style>'
             "</head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p class=\"note\">Run folder <code>{_e(data.run_dir.resolve())}</code>, run {data.run_id}"
             + (f" (the latest of {data.runs_in_store} in run.db)" if data.runs_in_store > 1 else "")
             + f"; generated {_e(generated)}; last stored change "
             f"{_e(time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(data.updated)))}.</p>"]

    # summary
    state = {"running": "running (in progress)", "interrupted": "stopped before finishing (killed or interrupted)",
             "done": "done"}.get(s["stop"]["state"], s["stop"]["state"])
    rows = [("status", state),
            ("stop reason", s["stop_reason"] or "—"),
            ("expert", cfg.get("expert", "?")),
            ("pool texts", s["pool_size"]), ("seed examples", s["seed_size"]), ("labels", len(s["classes"])),
            ("rounds stored", len(s["rounds"])),
            ("budget (expert calls)", "—" if s["budget_calls"] is None else s["budget_calls"]),
            ("classifier", _classifier_summary(params.get("subset_size", 8), len(s["classes"]))),
            ("selection", next((r.get("selection") for r in s["rounds"] if r.get("selection")),
                               params.get("uncertainty", "margin"))),
            ("embedder", params.get("embedder", "?"))]
    parts.append('<section id="summary"><h2>Summary</h2>')
    parts.append('<table id="summary-table"><tbody>')
    parts += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    parts.append(
        f'<tr><th>expert questions stored</th><td><span id="total-questions">{s["questions"]}</span>: '
        f'<span id="total-accepted">{s["accepted"]}</span> accepted, '
        f'<span id="total-rejected">{s["rejected"]}</span> rejected, '
        f'<span id="total-abstained">{s["abstained"]}</span> abstained</td></tr>')
    if s["has_predictions"]:
        src = s["sources"]
        parts.append(f'<tr><th>labels delivered</th><td><span id="delivered-expert">{src["expert"]}</span> by the '
                     f'expert, <span id="delivered-classifier">{src["classifier"]}</span> by the classifier '
                     f'(mean confidence {_num(s["mean_confidence_classifier"])}), '
                     f'<span id="delivered-seed">{src["seed"]}</span> from the seed</td></tr>')
    else:
        parts.append("<tr><th>labels delivered</th><td>none stored yet: predictions are written when the run "
                     "finishes</td></tr>")
    if data.report_json and data.report_json.get("wall_s") is not None:
        parts.append(f"<tr><th>wall time (last process)</th><td>{_e(data.report_json['wall_s'])} s</td></tr>")
    parts.append("</tbody></table></section>")

    parts.append(_quality_section(data.report_json or {}, s))
    parts.append(_open_section(data.report_json or {}))

    # stop
    parts.append(f'<section id="stop"><h2>Why the loop stopped</h2><p class="stop" id="stop-reason" '
                 f'data-state="{_e(stop["state"])}" data-reason="{_e(stop["reason"] or "")}">'
                 f'{_e(stop["headline"])}</p>')
    parts.append(_table("stop-evidence", ["figure", "value"], stop["evidence"], set()))
    parts.append("</section>")

    # rounds
    by_id = {p[0]: p for p in plots}

    def fig(pid):
        if pid not in by_id:
            return ""
        _, caption, png = by_id[pid]
        return (f'<figure><img id="{_e(pid)}" alt="{_e(caption)}" src="data:image/png;base64,{png}">'
                f"<figcaption>{_e(caption)}</figcaption></figure>")

    cost = s["cost"]
    parts.append('<section id="rounds"><h2>Per round</h2>')
    parts += [fig(p) for p in ("plot-uncertain", "plot-answers", "plot-calls", "plot-cost", "plot-confidence")]
    unit = cost["unit"]
    parts.append(_table(
        "rounds-table",
        ["round", "uncertain", "all NOISE", "texts asked", "accepted", "rejected", "abstained", "calls",
         "calls so far", "questions stored", "validated", "train size", "mean confidence",
         f"{cost['kind']} {unit}"],
        [[r["round"], r["uncertain"], r["all_noise"], r["texts_asked"], r["accepted"], r["rejected"],
          r["abstained"], r["round_calls"], r["calls_total"], r["stored_questions"], r["validated"], r["train_size"],
          _num(r["mean_confidence"]), f"{r['cost']:.6g}" if unit == "money" else f"{r['cost']:.0f}"]
         for r in s["rounds"]], set(range(14))))
    parts.append(f'<p class="note" id="cost-note">Cost per round is not stored by redtext. {_e(cost["how"])} '
                 f'Total: <span id="cost-total">{_e(format(cost["total"], ".6g"))}</span> {_e(unit)}.</p>')
    parts.append('<p class="note">“calls” and “accepted/rejected” are what the loop counted in each round '
                 '(a resumed run replays stored answers into the round that asks them); “questions stored” counts '
                 'the verdicts table by the round each answer was first given.</p></section>')

    # labels
    parts.append('<section id="labels"><h2>Per label</h2>')
    parts += [fig(p) for p in ("plot-acceptance", "plot-delivered")]
    parts.append('<p class="note">Estimates, not measured accuracy: “seed” counts the label’s seed examples, '
                 '“asked” the expert’s questions about it (“yes”, “no”, “skipped” its answers); “yes %” is the share '
                 'of yes/no answers that were yes; “top asked” and “top yes %” count only questions where the label '
                 'was the classifier’s best remaining candidate for that text in that round — the classifier’s '
                 'precision on the uncertain texts it was asked about, which understates its precision on the '
                 'confident rest. “mean conf.” is the classifier’s own score over the texts it labelled. '
                 f'Charts show at most {MAX_PLOT_LABELS} labels; the table lists all.</p>')
    label_rows = s["labels"]
    parts.append(_table(
        "labels-table",
        ["label", "seed", "asked", "yes", "no", "skipped", "yes %", "top asked", "top yes %", "delivered",
         "by expert", "by classifier", "from seed", "mean conf."],
        [[r["label"], r["seed"], r["questions"], r["accepted"], r["rejected"], r["abstained"], _pct(r["acceptance"]),
          r["top_asked"], _pct(r["top_acceptance"]), r["delivered"], r["expert"], r["classifier"], r["from_seed"],
          _num(r["mean_confidence"])] for r in label_rows],
        set(range(1, 14)), row_attrs=lambda k: f' data-label="{_e(label_rows[k]["label"])}"'))
    if not s["has_predictions"]:
        parts.append('<p class="note">No labels delivered yet: predictions are stored when the run finishes.</p>')
    parts.append("</section>")

    # confusions
    parts.append('<section id="confusions"><h2>Most confused labels</h2>'
                 '<h3>Corrections by the expert</h3><p class="note">The expert rejected the first label, then '
                 'accepted the second, for the same text.</p>')
    if s["corrections"]:
        parts.append(_table("corrections-table", ["rejected", "accepted instead", "texts", "example"],
                            [[c["rejected"], c["accepted"], c["count"], c["example"]]
                             for c in s["corrections"][:MAX_PAIRS_SHOWN]], {2}))
        parts.append(_more(len(s["corrections"]), "pairs"))
    else:
        parts.append('<p id="corrections-none">No text had a label rejected and another accepted.</p>')
    parts.append(f'<h3>Close runner-ups</h3><p class="note">Classifier-delivered labels whose second candidate '
                 f'scored within {RUNNER_UP_MARGIN:g} of the first.</p>')
    if s["runner_ups"]:
        parts.append(_table("runner-ups-table", ["best label", "runner-up label", "texts", "example"],
                            [[c["a"], c["b"], c["count"], c["example"]] for c in s["runner_ups"][:MAX_PAIRS_SHOWN]],
                            {2}))
        parts.append(_more(len(s["runner_ups"]), "pairs"))
    elif s["has_predictions"]:
        parts.append('<p id="runner-ups-none">No classifier label had a close runner-up.</p>')
    else:
        parts.append('<p id="runner-ups-none">No predictions stored yet.</p>')
    parts.append("</section>")

    # rejected
    rej = s["rejected_examples"]
    parts.append(f'<section id="rejected"><h2>Examples the expert rejected</h2><p class="note">'
                 f'<span id="rejected-count">{len(rej)}</span> rejections'
                 + (f"; the first {MAX_REJECTED_SHOWN} are shown" if len(rej) > MAX_REJECTED_SHOWN else "")
                 + ", in the order they were answered.</p>")
    if rej:
        parts.append(_table("rejected-table", ["round", "id", "text", "rejected label", "accepted later",
                                               "delivered label", "source"],
                            [[r["round"], r["id"], r["text"], r["label"], r["accepted_later"] or "—",
                              r["delivered"] or "—", r["source"] or "—"] for r in rej[:MAX_REJECTED_SHOWN]], {0}))
    parts.append("</section>")

    # notes
    notes = list(data.notes)
    notes.append("Cost per round is derived, not stored (see under Per round).")
    if data.runs_in_store > 1:
        notes.append(f"run.db holds {data.runs_in_store} runs; this page is about the latest, run {data.run_id}.")
    parts.append('<section id="notes"><h2>Notes</h2><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes)
                 + "</ul></section></body></html>\n")
    return "".join(parts)


def _quality_section(report: dict, s: dict) -> str:
    """How good the labels are, from the expert's answers alone: its measured rates on the
    known-answer questions, and the audit's estimate of the pool's accuracy by stratum."""
    parts = ['<section id="quality"><h2>How good are the labels</h2>']
    q, est = report.get("expert_quality"), report.get("estimate")
    if not q and not est:
        parts.append('<p class="note">No quality figures: the run asked no known-answer or audit questions '
                     '(<code>--checks 0 --audit 0</code>, or a run from an older redtext).</p></section>')
        return "".join(parts)
    if q and q.get("warning"):
        parts.append(f'<p class="warning" id="expert-warning">Warning: {_e(q["warning"])}</p>')
    if q:
        rows = [("says yes to the right label (tpr)", _pct(q.get("tpr")),
                 f"{_pct(q.get('tpr_low'))}–{_pct(q.get('tpr_high'))}", q.get("positives", 0)),
                ("says yes to a hard wrong label (fpr)", _pct(q.get("fpr")),
                 f"{_pct(q.get('fpr_low'))}–{_pct(q.get('fpr_high'))}", q.get("negatives", 0))]
        parts.append(f'<p>The expert, measured on <span id="check-questions">{s.get("check_questions", 0)}</span> '
                     'questions whose answers are known (seed texts with their own label and with their hardest '
                     'wrong label):</p>')
        parts.append(_table("expert-quality", ["rate", "measured", "95 % interval", "questions"], rows, {3}))
    if est:
        parts.append(f'<p id="estimate">Estimated share of right labels: <strong>{_pct(est["pool_accuracy"])}'
                     f'</strong>, 95 % interval {_pct(est["low"])}–{_pct(est["high"])}, from '
                     f'<span id="audit-questions">{s.get("audit_questions", 0)}</span> audit questions and the '
                     'answers above; no gold labels used.</p>')
        strata = [(name, v["texts"], _pct(v["accuracy"]), f"{_pct(v['low'])}–{_pct(v['high'])}")
                  for name, v in (est.get("strata") or {}).items()]
        parts.append(_table("estimate-strata", ["stratum", "texts", "estimated accuracy", "95 % interval"],
                            strata, {1}))
    parts.append("</section>")
    return "".join(parts)


def _open_section(report: dict) -> str:
    """The texts that fit no label (an open-world run) and the proposals for new labels made from
    them; nothing for a closed run."""
    ow = report.get("open_world")
    if not isinstance(ow, dict):
        return ""
    n = (ow.get("no_label") or {}).get("texts", 0)
    parts = ['<section id="open-world"><h2>Texts that fit no label</h2>',
             f'<p><span id="no-label-texts">{_e(n)}</span> pool texts fit no label '
             f'({_e(ow["no_label"].get("expert", 0))} by the expert\'s answers, '
             f'{_e(ow["no_label"].get("classifier", 0))} by the classifier); open world: {_e(ow.get("mode"))}.</p>']
    props = ow.get("proposals") or []
    if props:
        rows = [(p["name"], p["size"], ", ".join(p.get("keywords", [])), " | ".join(p.get("typical", [])[:3]))
                for p in props]
        parts.append("<p>Proposals for new labels (clusters of those texts): <code>redtext propose DIR</code> "
                     "writes them as a seed file for <code>redtext add-classes</code>.</p>")
        parts.append(_table("proposals", ["suggested name", "texts", "keywords", "typical texts"], rows, {1}))
    parts.append("</section>")
    return "".join(parts)
