"""The responsible-AI scorecard of one model version, for the stakeholders who sign it off: purpose
and intended use, data and lineage, performance against the reviewer's targets, fairness by group,
top features, best and worst error cohorts, counterfactual and causal highlights, privacy
findings, the gate, and the sign-off block. Exported as a self-contained HTML file (charts as
embedded images) and as a PDF (ReportLab), so it keeps its content wherever it is opened.
"""
from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from core import fairness, registry, review, training
from core.errors import InputError
from core.lake import Lake


def build(lake: Lake, ref: str) -> dict:
    version = registry.get(lake, ref)
    run = training.get(lake, version.run_id)
    results = review.results(lake, version.review_id) if version.review_id else {}
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
    out["fairness"] = _fairness(lake, run, results)
    if "explain" in results:
        out["top_features"] = results["explain"]["top_features"][:10]
    if "errors" in results:
        cohorts = results["errors"]["cohorts"]
        out["error_cohorts"] = {"overall_error_rate": results["errors"]["overall_error_rate"],
                                "worst": cohorts[:3], "best": sorted(cohorts, key=lambda c: c["error_rate"])[:3]}
    if "counterfactuals" in results:
        found = results["counterfactuals"]
        out["counterfactuals"] = {"rows": len(found["rows"]), "counterfactuals": found.get("counterfactuals", 0),
                                  "feature_changes": found.get("feature_changes", {})}
    if "causal" in results:
        out["causal"] = [{k: e[k] for k in ("treatment", "outcome", "estimator", "ate", "ci_low", "ci_high", "p_value",
                                            "naive_difference", "warnings")} | {"placebo_passed": e["placebo"]["passed"]}
                         for e in results["causal"]["effects"]]
    if "privacy" in results:
        privacy = results["privacy"]
        out["privacy"] = {"recommendations": privacy["recommendations"],
                          "membership_auc": privacy.get("membership_inference", {}).get("auc")}
    return out


def _target_text(target: Optional[dict]) -> str:
    if not target:
        return ""
    return f">= {target['min']}" if "min" in target else f"<= {target['max']}"


def _fairness(lake: Lake, run: training.Run, results: dict) -> Optional[dict]:
    if "fairness" in results and results["fairness"].get("reports"):
        report = results["fairness"]["reports"][0]
    elif run.task == "binary" and run.sensitive:
        report = fairness.for_run(lake, run.run_id, sensitive=run.sensitive[:1], n_boot=0).to_dict()
    else:
        return None
    if "four_fifths" not in report:
        return {"sensitive": report["sensitive"], "summary": report["summary"], "groups": report["groups"], "passed": None}
    rule = report["four_fifths"]
    return {"sensitive": report["sensitive"], "summary": report["summary"], "passed": rule["passed"],
            "reference": rule["reference"], "rule": rule["metrics"],
            "groups": [{"group": ", ".join(f"{k} = {v}" for k, v in g["group"].items()), "count": g["count"],
                        **{m: g.get(m) for m in fairness.METRICS}} for g in report["groups"]]}


def _charts(scorecard: dict) -> dict[str, bytes]:
    """PNG charts (rendered offline by vl-convert): top features and group rates."""
    import altair as alt
    import vl_convert as vlc

    charts = {}
    if scorecard.get("top_features"):
        frame = pd.DataFrame(scorecard["top_features"])
        chart = alt.Chart(frame).mark_bar(color="#4C78A8").encode(
            x=alt.X("mean_abs_shap:Q", title="mean |SHAP value|"), y=alt.Y("feature:N", sort="-x", title=None)
        ).properties(width=420, height=22 * len(frame), title="Top features")
        charts["top_features"] = vlc.vegalite_to_png(chart.to_json(), scale=2)
    fair = scorecard.get("fairness")
    if fair and fair.get("groups") and "selection_rate" in fair["groups"][0]:
        frame = pd.DataFrame(fair["groups"]).melt("group", value_vars=["selection_rate", "tpr", "fpr"], var_name="metric",
                                                  value_name="rate")
        chart = alt.Chart(frame).mark_bar().encode(
            x=alt.X("rate:Q", axis=alt.Axis(format="%")), y=alt.Y("group:N", title=None), yOffset="metric:N",
            color=alt.Color("metric:N", title=None)
        ).properties(width=420, height=60 * frame["group"].nunique(), title="Rates by group")
        charts["fairness"] = vlc.vegalite_to_png(chart.to_json(), scale=2)
    return charts


def to_html(scorecard: dict) -> str:
    charts = _charts(scorecard)
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Scorecard {e(scorecard['model'])}</title>",
             "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
             ".pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}img{max-width:100%}</style></head><body>",
             f"<h1>Responsible-AI scorecard: {e(scorecard['model'])}</h1>",
             f"<p>{e(scorecard['task'])} model of <b>{e(scorecard['target'])}</b>; aliases: "
             f"{e(', '.join(scorecard['aliases']) or 'none')}; generated {e(scorecard['generated_at'])}.</p>"]
    for title, rows in _sections(scorecard):
        parts.append(f"<h2>{e(title)}</h2>")
        for kind, content in rows:
            if kind == "text":
                parts.append(f"<p>{e(content)}</p>")
            elif kind == "list":
                parts.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in content) + "</ul>")
            elif kind == "table":
                header, body = content
                parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>" + "".join(
                    "<tr>" + "".join(f"<td{_cls(c)}>{e(_fmt(c))}</td>" for c in row) + "</tr>" for row in body) + "</table>")
            elif kind == "chart" and content in charts:
                data = base64.b64encode(charts[content]).decode()
                parts.append(f"<img alt='{e(content)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "".join(parts)


def _cls(value: Any) -> str:
    return " class='pass'" if value == "pass" else (" class='fail'" if value == "FAIL" else "")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _verdict(value: Optional[bool]) -> str:
    return "" if value is None else ("pass" if value else "FAIL")


def _card_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):  # targets
        return "; ".join(f"{metric} {_target_text(target)}" for metric, target in value.items())
    return value or ""


def _sections(s: dict) -> list[tuple[str, list]]:
    """The scorecard as sections of text, lists, tables and charts, shared by HTML and PDF."""
    card = s["card"]
    sections = [("Purpose and intended use", [
        ("table", (["field", "value"], [[k.replace("_", " "), _card_value(v) or "(not filled in)"]
                                        for k, v in card.items()]))])]
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
    sections.append(("Model", [("table", (["field", "value"], [[k.replace("_", " "), v] for k, v in details.items()]))]))
    sections.append(("Performance on held-out rows", [
        ("table", (["metric", "value", "target", "verdict"],
                   [[p["metric"], p["value"], p["target"], _verdict(p["passed"])] for p in s["performance"]]))]))
    fair = s.get("fairness")
    if fair:
        rows = [("text", f"By {', '.join(fair['sensitive'])}: four-fifths rule "
                         f"{'passed' if fair['passed'] else 'failed' if fair['passed'] is False else 'not applicable'}.")]
        rows.append(("list", fair["summary"]))
        if fair.get("rule"):
            rows.append(("table", (["metric", "worst ratio", "worst group", "verdict"],
                                   [[m, r["worst_ratio"], ", ".join(f"{k} = {v}" for k, v in (r["worst_group"] or {}).items()),
                                     _verdict(r["passed"])] for m, r in fair["rule"].items()])))
        metrics = [m for m in ("count", *fairness.METRICS) if m in fair["groups"][0]]
        rows.append(("table", (["group", *metrics], [[g["group"], *[g[m] for m in metrics]] for g in fair["groups"]])))
        rows.append(("chart", "fairness"))
        sections.append(("Fairness by group", rows))
    if s.get("top_features"):
        sections.append(("Top features (SHAP)", [("chart", "top_features"), ("table", (["feature", "mean |SHAP|"], [
            [f["feature"], f["mean_abs_shap"]] for f in s["top_features"]]))]))
    if s.get("error_cohorts"):
        errors = s["error_cohorts"]
        table = lambda cohorts: ("table", (["cohort", "error rate", "rows"], [[c["filter"], c["error_rate"], c["rows"]]
                                                                              for c in cohorts]))
        sections.append(("Error cohorts", [("text", f"Overall error rate {errors['overall_error_rate']:.4f}. Worst:"),
                                           table(errors["worst"]), ("text", "Best:"), table(errors["best"])]))
    if s.get("counterfactuals"):
        found = s["counterfactuals"]
        top = ", ".join(f"{k} ({v})" for k, v in list(found["feature_changes"].items())[:5])
        sections.append(("Counterfactuals", [("text", f"{found['counterfactuals']} counterfactuals for {found['rows']} "
                                                      f"held-out rows; the features that most often flip the decision: "
                                                      f"{top or 'none'}.")]))
    if s.get("causal"):
        sections.append(("Causal highlights", [("list", [
            f"{c['treatment']} on {c['outcome']}: {c['ate']:+.4f} [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}], p = "
            f"{c['p_value']:.2g} ({c['estimator']}); naive difference {c['naive_difference']:+.4f}; placebo "
            f"{'passed' if c['placebo_passed'] else 'FAILED'}." + (" " + " ".join(c["warnings"]) if c["warnings"] else "")
            for c in s["causal"]])]))
    if s.get("privacy"):
        privacy = s["privacy"]
        items = list(privacy["recommendations"])
        if privacy.get("membership_auc") is not None:
            items.append(f"Membership-inference attack AUC {privacy['membership_auc']:.3f} (0.5: nothing leaks).")
        sections.append(("Privacy", [("list", items)]))
    gate = s["gate"]
    gate_rows = [("text", f"Status: {gate.get('status')}" + (f" against {gate['champion']}" if gate.get("champion") else "")
                  + (f". {gate['reason']}" if gate.get("reason") else "."))]
    if gate.get("metrics"):
        gate_rows.append(("table", (["metric", "candidate", "champion", "improvement", "min absolute", "verdict"], [
            [m, r["candidate"], r["champion"], r["improvement"], r["min_absolute"], _verdict(r["passed"])]
            for m, r in gate["metrics"].items()])))
    sections.append(("Champion/challenger gate", gate_rows))
    approvals = s["approvals"]
    sign_rows = [("text", "Approved for promotion." if approvals["approved"] else "Not yet approved for promotion."),
                 ("table", (["role", "required", "approved by", "rejected by", "verdict"], [
                     [role, r["required"], ", ".join(r["approved_by"]), ", ".join(r["rejected_by"]), _verdict(r["met"])]
                     for role, r in approvals["roles"].items()]))]
    if s["signoffs"]:
        sign_rows.append(("table", (["reviewer", "role", "decision", "comment", "when", "valid"], [
            [x["reviewer"], x["role"], x["decision"], x["comment"], str(x["at"])[:19], "yes" if x["valid"] else "no (artifact changed)"]
            for x in s["signoffs"]])))
    sections.append(("Sign-off", sign_rows))
    return sections


def to_pdf(scorecard: dict) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    charts = _charts(scorecard)
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    e = html.escape
    story = [Paragraph(f"Responsible-AI scorecard: {e(scorecard['model'])}", styles["Title"]),
             Paragraph(f"{e(scorecard['task'])} model of <b>{e(scorecard['target'])}</b>; aliases: "
                       f"{e(', '.join(scorecard['aliases']) or 'none')}; generated {e(scorecard['generated_at'])}.",
                       styles["BodyText"])]
    width = A4[0] - 3 * cm
    for title, rows in _sections(scorecard):
        story += [Spacer(1, 8), Paragraph(e(title), styles["Heading2"])]
        for kind, content in rows:
            if kind == "text":
                story.append(Paragraph(e(content), styles["BodyText"]))
            elif kind == "list":
                story.append(ListFlowable([ListItem(Paragraph(e(item), styles["BodyText"])) for item in content],
                                          bulletType="bullet"))
            elif kind == "table":
                header, body = content
                data = [[Paragraph(f"<b>{e(h)}</b>", small) for h in header]] + [
                    [Paragraph(_pdf_cell(c), small) for c in row] for row in body]
                table = Table(data, colWidths=[width / len(header)] * len(header), repeatRows=1)
                table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                                           ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
                                           ("VALIGN", (0, 0), (-1, -1), "TOP")]))
                story.append(table)
            elif kind == "chart" and content in charts:
                image = Image(io.BytesIO(charts[content]))
                scale = min(1.0, width / image.drawWidth) * 0.6
                image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
                story.append(image)
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm,
                      bottomMargin=1.5 * cm, title=f"Scorecard {scorecard['model']}").build(story)
    return buffer.getvalue()


def _pdf_cell(value: Any) -> str:
    text = html.escape(_fmt(value))
    if value == "pass":
        return f"<font color='#1a7f37'><b>{text}</b></font>"
    if value == "FAIL":
        return f"<font color='#c62828'><b>{text}</b></font>"
    return text


def export(lake: Lake, ref: str, out: str) -> dict:
    path = Path(out)
    if path.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise InputError(f"The scorecard is written as .pdf or .html, not {path.suffix or 'no extension'} ({out}).")
    if not path.parent.exists():
        raise InputError(f"The folder {path.parent} does not exist.")
    scorecard = build(lake, ref)
    data = to_pdf(scorecard) if path.suffix.lower() == ".pdf" else to_html(scorecard).encode("utf-8")
    path.write_bytes(data)
    return {"model": scorecard["model"], "out": str(path), "bytes": len(data),
            "sections": [title for title, _ in _sections(scorecard)]}
