"""A review meeting's record as one self-contained HTML file: the review itself (model, data, every
component's headline numbers, sentences and charts, failing verdicts first; components not computed
said plainly), then each finding with its view redrawn from the stored review and the finding's own
settings, its decision, comments and action items. Charts are embedded images: it opens offline."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from core.lake import audit
from core.governance import findings
from core import review, review_views, training
from core.errors import InputError, NotFoundError
from core.lake import Lake


def finding_view(lake: Lake, current: review.Review, results: review.ReviewResults, finding: dict) -> review_views.View:
    """A finding's view, drawn only from the stored review (review.typed_results; stored dicts are read too)
    and the settings pinned with it (raises ViewSettingsError when they cannot be honoured)."""
    return review_views.render(finding["component"], results, finding["settings"], lake=lake, review=current)


def review_lines(lake: Lake, current: review.Review) -> list[str]:
    """Who and what was reviewed, in sentences (the report's and the meeting page's header)."""
    try:
        run = training.get(lake, current.run_id)
        model = (f"{run.algorithm} {run.task} model of {run.target} (run {run.run_id}, trained on {run.input_ref}: "
                 f"{run.train_rows:,} training rows, {run.test_rows:,} held out)")
    except NotFoundError:
        model = f"{current.config.get('algorithm', '')} model, run {current.run_id} (the run has since been deleted)"
    return [f"Model: {model}.",
            f"Data: {current.dataset_ref} ({current.dataset_kind.replace('_', ' ')}, lake snapshot {current.dataset_snapshot}), "
            f"{current.rows:,} rows ({'the held-out rows' if current.scope == 'test' else 'every row'}).",
            f"Sensitive columns: {', '.join(current.sensitive) or 'none'}; components computed: "
            f"{', '.join(current.components)}.",
            f"Reviewed by {current.created_by} on {current.created_at:%Y-%m-%d %H:%M}."]


def _described(lake: Lake, current: review.Review) -> str:
    try:
        return review.describe_review(current, training.get(lake, current.run_id))
    except NotFoundError:  # the run has since been deleted
        return review.describe_review(current)


def audit_line(lake: Lake) -> str:
    head = audit.head(lake)
    return f"Audit chain head: entry {head['seq']}, SHA-256 {head['hash']}."


def verdicts(views: list[review_views.View]) -> list[str]:
    """Failing verdicts first, one line per judged section, then the components not computed."""
    judged = [(v, s) for v in views for s in v.sections if s.passed is not None]
    lines = [f"{v.title} — {s.title}: {'pass' if s.passed else 'FAIL'}"
             for v, s in sorted(judged, key=lambda pair: pair[1].passed)]
    return lines + [f"{v.title}: not computed in this review." for v in views if not v.computed]


def report_html(lake: Lake, review_id: str) -> str:
    current = review.get(lake, review_id)
    results = review.typed_results(lake, review_id)
    pinned = findings.list_findings(lake, review_id)
    views = review_views.render_all(results, lake=lake, review=current)
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>Review {e(review_id)}</title>",
             f"<style>{review_views.STYLE}</style></head><body>",
             f"<h1>Review meeting: {e(_described(lake, current))}</h1>",
             f"<p>Review {e(review_id)} on {e(current.dataset_ref)} ({current.rows:,} rows, {e(current.scope)}); "
             f"{len(pinned)} finding(s); exported {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>",
             "<ul>" + "".join(f"<li>{e(line)}</li>" for line in review_lines(lake, current)) + "</ul>",
             f"<p class='audit'>{e(audit_line(lake))}</p>",
             "<h2>What the review found</h2>"]
    summary = verdicts(views)
    if summary:
        parts.append("<ul class='verdicts'>" + "".join(
            f"<li class='{'fail' if line.endswith('FAIL') else ''}'>{e(line)}</li>" for line in summary) + "</ul>")
    for shown in views:
        parts.append(f"<div class='component' id='component-{shown.component}'><h3>{e(shown.title)}</h3>"
                     f"{review_views.view_html(shown)}</div>")
    parts.append(f"<h2>Findings and decisions</h2><p>{len(pinned)} finding(s).</p>")
    decided = pd.Series([f["decision"] or "open" for f in pinned]).value_counts().to_dict() if pinned else {}
    if decided:
        parts.append("<p>" + ", ".join(f"{e(k.replace('_', ' '))}: {v}" for k, v in decided.items()) + "</p>")
    for number, finding in enumerate(pinned, start=1):
        parts.append(f"<div class='finding' id='{e(finding['finding_id'])}'>")
        parts.append(f"<h2>{number}. {e(finding['title'])}</h2>")
        parts.append(f"<p><span class='sev'>{e(finding['severity'])}</span> · {e(finding['component'])} · settings "
                     f"{e(findings.settings_text(finding['settings']))} · pinned by {e(finding['created_by'])}</p>")
        try:
            parts.append(review_views.view_html(finding_view(lake, current, results, finding)))
        except review_views.ViewSettingsError as exc:  # said in the record, never drawn with other settings
            parts.append(f"<p class='fail'>This finding's view cannot be redrawn: {e(str(exc))}</p>")
        decision = finding["decision"]
        parts.append(f"<p><b>Decision:</b> {e(decision.replace('_', ' ')) if decision else 'none yet'}"
                     + (f" — {e(finding['decision_reason'])}" if finding["decision_reason"] else "")
                     + (f" ({e(finding['decided_by'])})" if finding["decided_by"] else "") + "</p>")
        if finding["actions"]:
            parts.append(review_views.table_html(("action", "owner", "due", "status"), [
                (a["text"], a["owner"], str(a["due"]), a["status"] + (f" — {a['close_reason']}" if a["close_reason"] else ""))
                for a in finding["actions"]]))
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
    head = audit.head(lake)
    return {"review_id": review_id, "out": str(path), "bytes": len(text.encode("utf-8")),
            "findings": len(findings.list_findings(lake, review_id)), "audit_head": head}
