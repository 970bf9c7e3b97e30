"""The responsible-AI scorecard of one model version, for the stakeholders who sign it off: purpose
and intended use, data and lineage, performance against the reviewer's targets, fairness by group,
top features, best and worst error cohorts, counterfactual and causal highlights, privacy
findings, the gate, and the sign-off block. Exported as a self-contained HTML file (charts as
embedded images) and as a PDF (ReportLab), so it keeps its content wherever it is opened.
"""
from __future__ import annotations

import html
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from core.lake import audit
from core.governance import registry
from core import review, review_views, training
from core.errors import InputError
from core.lake import Lake


def build(lake: Lake, ref: str) -> dict:
    version = registry.get(lake, ref)
    run = training.get(lake, version.run_id)
    results = review.typed_results(lake, version.review_id) if version.review_id else None
    card = version.card
    targets = card.get("targets") or {}
    performance = []
    for metric, value in sorted(version.metrics.items()):
        if metric == "threshold":
            continue
        target = targets.get(metric)
        passed = None
        if target:
            passed = (value >= target["min"]) if "min" in target else (value <= target["max"])
        performance.append({"metric": metric, "value": value, "target": _target_text(target), "passed": passed})
    out: dict[str, Any] = {
        "model": version.ref, "aliases": list(version.aliases), "task": version.task, "target": version.target,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "card": {k: card.get(k, "") for k in registry.CARD_FIELDS},
        "data": {"input": version.input, "snapshot": version.input_snapshot, "train_rows": run.train_rows,
                 "test_rows": run.test_rows, "lineage": registry.lineage(lake, version.ref),
                 "split": run.split, "excluded": run.excluded, "sensitive": run.sensitive},
        "model_details": {"algorithm": run.algorithm, "run_id": run.run_id, "review_id": version.review_id,
                          "artifact_sha256": version.artifact_sha256, "code_version": version.code_version,
                          "registered_by": version.created_by, "registered_at": version.created_at.isoformat(),
                          "output": version.output,
                          "decision_threshold": version.threshold},  # in force: the run's, or set_threshold's
        "performance": performance,
        "gate": version.gate,
        "approvals": registry.approval_status(lake, version.ref),
        "signoffs": registry.signoffs(lake, version.ref),
    }
    out["audit_head"] = audit.head(lake)
    out["review_id"] = version.review_id
    current = review.get(lake, version.review_id) if version.review_id else None
    out["review"] = current.to_dict() if current else None
    out["views"] = {v.component: v for v in review_views.render_all(results, lake=lake, review=current)} if current else {}
    return out


def _target_text(target: Optional[dict]) -> str:
    if not target:
        return ""
    return f">= {target['min']}" if "min" in target else f"<= {target['max']}"


COMPONENT_SECTIONS = (("fairness", "Fairness by group"), ("explain", "Top features (SHAP)"), ("errors", "Error cohorts"),
                      ("counterfactuals", "Counterfactuals"), ("causal", "Causal highlights"), ("privacy", "Privacy"),
                      ("checks", "Validation checks"))


def to_html(scorecard: dict) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Scorecard {e(scorecard['model'])}</title>",
             f"<style>{review_views.STYLE}</style></head><body>",
             f"<h1>Responsible-AI scorecard: {e(scorecard['model'])}</h1>",
             f"<p>{e(scorecard['task'])} model of <b>{e(scorecard['target'])}</b>; aliases: "
             f"{e(', '.join(scorecard['aliases']) or 'none')}; generated {e(scorecard['generated_at'])}.</p>",
             f"<p class='audit'>{e(_audit_text(scorecard))}</p>"]
    for title, rows in _sections(scorecard):
        parts.append(f"<h2>{e(title)}</h2>" + review_views.blocks_html(rows, level=3))
    parts.append("</body></html>")
    return "".join(parts)


def _audit_text(scorecard: dict) -> str:
    head = scorecard["audit_head"]
    return f"Audit chain head: entry {head['seq']}, SHA-256 {head['hash']}."


def _verdict(value: Optional[bool]) -> str:
    return review_views.verdict(value)


def _table(header, rows) -> tuple:
    return ("table", review_views.Table(tuple(header), tuple(tuple(r) for r in rows)))


def _card_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):  # targets
        return "; ".join(f"{metric} {_target_text(target)}" for metric, target in value.items())
    return value or ""


def _component(s: dict, component: str) -> list:
    """A review component's blocks, from the one renderer; said plainly when it was not computed."""
    if not s.get("review_id"):
        return [("text", "Not computed: no review is attached to this version (register it with --review REVIEW_ID).")]
    shown = s["views"][component]
    title = dict(COMPONENT_SECTIONS)[component]
    rows = [b for b in review_views.blocks(shown) if b != ("heading", (title, None))]  # the section says it already
    if component == "fairness" and shown.sections:
        failing = [x.title.removeprefix("By ") for x in shown.failing]
        reviewed = [x.title.removeprefix("By ") for x in shown.sections]
        rows.insert(0, ("text", f"Review {s['review_id']} computed fairness by {'; '.join(reviewed)}. Four-fifths rule "
                                + (f"FAILED by {'; '.join(failing)}." if failing else "passed by every one.")))
    return rows


def _sections(s: dict) -> list[tuple[str, list]]:
    """The scorecard as sections of printable blocks (see review_views.blocks), shared by HTML and PDF."""
    card = s["card"]
    sections = [("Purpose and intended use", [
        _table(["field", "value"], [[k.replace("_", " "), _card_value(v) or "(not filled in)"] for k, v in card.items()])])]
    data = s["data"]
    lineage = " → ".join(n["label"] for n in reversed(data["lineage"]["nodes"]) if n["kind"] != "review")
    sections.append(("Data used", [
        ("text", f"Trained on {data['input']} (lake snapshot {data['snapshot']}): {data['train_rows']:,} training rows, "
                 f"{data['test_rows']:,} held-out rows; split {data['split'].get('method')} "
                 f"{data['split'].get('test_size')}, seed {data['split'].get('seed')}."),
        ("text", f"Lineage: {lineage}."),
        ("text", f"Sensitive columns (not model inputs): {', '.join(data['sensitive']) or 'none'}; excluded: "
                 f"{', '.join(data['excluded']) or 'none'}.")]))
    details = s["model_details"]
    sections.append(("Model", [_table(["field", "value"], [[k.replace("_", " "), v] for k, v in details.items()])]))
    sections.append(("Performance on held-out rows", [
        _table(["metric", "value", "target", "verdict"],
               [[p["metric"], p["value"], p["target"], _verdict(p["passed"])] for p in s["performance"]])]))
    for component, title in COMPONENT_SECTIONS:
        sections.append((title, _component(s, component)))
    gate = s["gate"]
    gate_rows = [("text", f"Status: {gate.get('status')}" + (f" against {gate['champion']}" if gate.get("champion") else "")
                  + (f". {gate['reason']}" if gate.get("reason") else "."))]
    if gate.get("validation"):  # the rule "no failed critical validation check" (core.validation)
        rule = gate["validation"]
        gate_rows.append(("text", f"Validation checks ({'required' if rule['required'] else 'not required'} to pass): "
                                  f"{rule['reason']}"))
    if gate.get("metrics"):
        gate_rows.append(_table(["metric", "candidate", "champion", "improvement", "min absolute", "verdict"], [
            [m, r["candidate"], r["champion"], r["improvement"], r["min_absolute"], _verdict(r["passed"])]
            for m, r in gate["metrics"].items()]))
    sections.append(("Champion/challenger gate", gate_rows))
    approvals = s["approvals"]
    sign_rows = [("text", "Approved for promotion." if approvals["approved"] else "Not yet approved for promotion."),
                 _table(["role", "required", "approved by", "rejected by", "verdict"], [
                     [role, r["required"], ", ".join(r["approved_by"]), ", ".join(r["rejected_by"]), _verdict(r["met"])]
                     for role, r in approvals["roles"].items()])]
    if s["signoffs"]:
        sign_rows.append(_table(["reviewer", "role", "decision", "comment", "when", "valid"], [
            [x["reviewer"], x["role"], x["decision"], x["comment"], str(x["at"])[:19], "yes" if x["valid"] else "no (artifact changed)"]
            for x in s["signoffs"]]))
    sections.append(("Sign-off", sign_rows))
    return sections


def to_pdf(scorecard: dict) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    e = html.escape
    story = [Paragraph(f"Responsible-AI scorecard: {e(scorecard['model'])}", styles["Title"]),
             Paragraph(f"{e(scorecard['task'])} model of <b>{e(scorecard['target'])}</b>; aliases: "
                       f"{e(', '.join(scorecard['aliases']) or 'none')}; generated {e(scorecard['generated_at'])}.",
                       styles["BodyText"]),
             Paragraph(e(_audit_text(scorecard)), small)]
    width = A4[0] - 3 * cm
    for title, rows in _sections(scorecard):
        story += [Spacer(1, 8), Paragraph(e(title), styles["Heading2"])]
        for kind, content in rows:
            if kind == "text":
                story.append(Paragraph(e(content), styles["BodyText"]))
            elif kind == "heading":
                name, passed = content
                story.append(Paragraph(e(name) + ("" if passed is None else " " + _pdf_cell(passed)), styles["Heading3"]))
            elif kind == "figures":
                story.append(Paragraph(" · ".join(f"{e(f.label)}: <b>{e(f.text)}</b>" for f in content), styles["BodyText"]))
            elif kind == "list":
                story.append(ListFlowable([ListItem(Paragraph(e(item), styles["BodyText"])) for item in content],
                                          bulletType="bullet"))
            elif kind == "table" and content.rows:
                header = content.header
                data = [[Paragraph(f"<b>{e(str(h))}</b>", small) for h in header]] + [
                    [Paragraph(_pdf_cell(c), small) for c in row] for row in content.rows]
                first = min(0.4, 2 / (len(header) + 1)) if len(header) > 2 else 1 / len(header)  # labels get room
                widths = [width * first] + [width * (1 - first) / (len(header) - 1)] * (len(header) - 1)
                table = Table(data, colWidths=widths if len(header) > 1 else [width], repeatRows=1)
                table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
                                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
                story.append(table)
            elif kind == "chart":
                image = Image(io.BytesIO(review_views.png(content)))
                scale = min(1.0, width / image.drawWidth) * 0.7
                image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
                story.append(image)
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                      bottomMargin=1.5 * cm, title=f"Scorecard {scorecard['model']}").build(story)
    return buffer.getvalue()


def _pdf_cell(value: Any) -> str:
    text = html.escape(review_views.fmt(value))
    if text == "pass":
        return f"<font color='#1a7f37'><b>{text}</b></font>"
    if text == "FAIL":
        return f"<font color='#c62828'><b>{text}</b></font>"
    return text


def export(lake: Lake, ref: str, out: str, *, force: bool = False) -> dict:
    from core import outputs

    path = Path(out)
    if path.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise InputError(f"The scorecard is written as .pdf or .html, not {path.suffix or 'no extension'} ({out}).")
    outputs.check_output(path, lake=lake, force=force)  # refuse a bad path before the work
    scorecard = build(lake, ref)
    data = to_pdf(scorecard) if path.suffix.lower() == ".pdf" else to_html(scorecard).encode("utf-8")
    outputs.write_output(path, data, lake=lake, force=force)
    return {"model": scorecard["model"], "out": str(path), "bytes": len(data),
            "sections": [title for title, _ in _sections(scorecard)], "audit_head": scorecard["audit_head"]}
