"""A review meeting's record as one self-contained HTML file: the review, then each finding with its
view re-drawn from the stored review (charts embedded as images, tables as HTML), its decision,
comments and action items. It opens offline with everything in it."""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import pandas as pd

from core import findings, review
from core.errors import InputError
from core.lake import Lake


def view(results: dict, component: str, settings: dict) -> tuple[Optional[bytes], list[str], list[list]]:
    """A finding's view: a PNG chart (or None), a table header and rows, from the stored review."""
    import altair as alt
    import vl_convert as vlc

    stored = results.get(component, {})
    chart, header, rows = None, [], []
    if component == "explain":
        top = pd.DataFrame(stored.get("top_features", [])[:10])
        if len(top):
            chart = alt.Chart(top).mark_bar(color="#4C78A8").encode(
                x=alt.X("mean_abs_shap:Q", title="mean |SHAP value|"), y=alt.Y("feature:N", sort="-x", title=None))
            header, rows = ["feature", "mean |SHAP|"], [[f, round(v, 4)] for f, v in zip(top["feature"], top["mean_abs_shap"])]
    elif component == "errors":
        header = ["cohort", "error rate", "coverage", "rows"]
        rows = [[c["filter"], round(c["error_rate"], 4), round(c["coverage"], 4), c["rows"]] for c in stored.get("cohorts", [])[:8]]
    elif component == "fairness" and stored.get("reports"):
        wanted = settings.get("sensitive")
        report = next((r for r in stored["reports"] if r["sensitive"] == wanted), stored["reports"][0])
        groups = pd.DataFrame([{"group": ", ".join(f"{k} = {v}" for k, v in g["group"].items()),
                                **{m: g.get(m) for m in ("selection_rate", "tpr", "fpr")}} for g in report["groups"]])
        if "selection_rate" in groups:
            long = groups.melt("group", var_name="metric", value_name="rate")
            chart = alt.Chart(long).mark_bar().encode(x=alt.X("rate:Q", axis=alt.Axis(format="%")),
                                                      y=alt.Y("group:N", title=None), yOffset="metric:N",
                                                      color=alt.Color("metric:N", title=None))
        header = ["summary"]
        rows = [[line] for line in report.get("summary", [])]
    elif component == "overview":
        overall = stored.get("overall", {})
        header, rows = ["metric", "value"], [[k, round(v, 4)] for k, v in overall.items() if isinstance(v, (int, float))]
    elif component == "counterfactuals":
        changes = stored.get("feature_changes", {})
        header, rows = ["feature", "counterfactuals that change it"], [[k, v] for k, v in changes.items()]
    elif component == "causal":
        header = ["treatment", "effect", "95% interval", "placebo"]
        rows = [[e["treatment"], round(e["ate"], 4), f"{e['ci_low']:+.4f} to {e['ci_high']:+.4f}",
                 "passed" if e["placebo"]["passed"] else "FAILED"] for e in stored.get("effects", [])]
    elif component == "privacy":
        header, rows = ["recommendation"], [[r] for r in stored.get("recommendations", [])]
    png = vlc.vegalite_to_png(chart.properties(width=480).to_json(), scale=2) if chart is not None else None
    return png, header, rows


def report_html(lake: Lake, review_id: str) -> str:
    current = review.get(lake, review_id)
    results = review.results(lake, review_id)
    pinned = findings.list_findings(lake, review_id)
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>Review {e(review_id)}</title>",
             "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
             ".finding{border-top:3px solid #c8102e;margin-top:2em;padding-top:.5em}.sev{font-weight:700}"
             "img{max-width:100%}</style></head><body>",
             f"<h1>Review meeting: {e(current.config.get('algorithm', ''))} run {e(current.run_id)}</h1>",
             f"<p>Review {e(review_id)} on {e(current.dataset_ref)} ({current.rows:,} rows, {e(current.scope)}); "
             f"{len(pinned)} finding(s); exported {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>"]
    decided = pd.Series([f["decision"] or "open" for f in pinned]).value_counts().to_dict() if pinned else {}
    if decided:
        parts.append("<p>" + ", ".join(f"{e(k.replace('_', ' '))}: {v}" for k, v in decided.items()) + "</p>")
    for number, finding in enumerate(pinned, start=1):
        png, header, rows = view(results, finding["component"], finding["settings"])
        parts.append(f"<div class='finding' id='{e(finding['finding_id'])}'>")
        parts.append(f"<h2>{number}. {e(finding['title'])}</h2>")
        parts.append(f"<p><span class='sev'>{e(finding['severity'])}</span> · {e(finding['component'])} · settings "
                     f"{e(str(finding['settings']) if finding['settings'] else 'none')} · pinned by "
                     f"{e(finding['created_by'])}</p>")
        if png:
            parts.append(f"<img alt='{e(finding['title'])}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
        if rows:
            parts.append("<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>" + "".join(
                "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows) + "</table>")
        decision = finding["decision"]
        parts.append(f"<p><b>Decision:</b> {e(decision.replace('_', ' ')) if decision else 'none yet'}"
                     + (f" — {e(finding['decision_reason'])}" if finding["decision_reason"] else "")
                     + (f" ({e(finding['decided_by'])})" if finding["decided_by"] else "") + "</p>")
        if finding["actions"]:
            parts.append("<table><tr><th>action</th><th>owner</th><th>due</th><th>status</th></tr>" + "".join(
                f"<tr><td>{e(a['text'])}</td><td>{e(a['owner'])}</td><td>{e(str(a['due']))}</td>"
                f"<td>{e(a['status'])}{' — ' + e(a['close_reason']) if a['close_reason'] else ''}</td></tr>"
                for a in finding["actions"]) + "</table>")
        for remark in finding["comments"]:
            parts.append(f"<p><i>{e(remark['author'])}</i>: {e(remark['text'])}</p>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)


def export(lake: Lake, review_id: str, out: str, *, force: bool = False) -> dict:
    from core import outputs

    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"The report is an .html file, not {path.suffix or 'no extension'} ({out}).")
    outputs.check_output(path, lake=lake, force=force)  # refuse a bad path before the work
    text = report_html(lake, review_id)
    outputs.write_output(path, text.encode("utf-8"), lake=lake, force=force)
    return {"review_id": review_id, "out": str(path), "bytes": len(text.encode("utf-8")),
            "findings": len(findings.list_findings(lake, review_id))}
