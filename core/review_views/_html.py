"""Views as HTML fragments for the offline documents (meeting report, scorecard): charts embedded
as PNG with their title as caption and alt text, numbers printed with fmt(), verdicts coloured."""
from __future__ import annotations

import base64
import html

from core.review_views._view import View, blocks, chart_title, fmt, png

STYLE = ("body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;"
         "margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
         "th{background:#f3f3f3}.pass{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}"
         "img{max-width:100%}figure img{width:640px;max-width:100%}figure{margin:.5em 0}figcaption{font-size:.85em;color:#555}"
         ".figures span{display:inline-block;margin-right:1.5em}.figures b{font-size:1.15em}"
         ".finding{border-top:3px solid #c8102e;margin-top:2em;padding-top:.5em}.sev{font-weight:700}"
         ".component{border-top:1px solid #ddd;margin-top:1.5em}.audit{font-family:monospace;font-size:.85em;color:#444}")


def cell(value) -> str:
    text = html.escape(fmt(value))
    return f"<td class='{'pass' if text == 'pass' else 'fail'}'>{text}</td>" if text in ("pass", "FAIL") else f"<td>{text}</td>"


def table_html(header, rows, title: str = "") -> str:
    e = html.escape
    return (f"<table data-title='{e(title)}'><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows) + "</table>")


def chart_html(chart) -> str:
    title = html.escape(chart_title(chart))
    data = base64.b64encode(png(chart)).decode()
    return f"<figure><img alt='{title}' src='data:image/png;base64,{data}'><figcaption>{title}</figcaption></figure>"


def view_html(view: View, *, level: int = 4) -> str:
    return blocks_html(blocks(view), level=level)


def blocks_html(items, *, level: int = 4) -> str:
    """Printable blocks (see blocks()) as HTML."""
    e, parts = html.escape, []
    for kind, content in items:
        if kind == "heading":
            title, passed = content
            badge = "" if passed is None else (" <span class='pass'>pass</span>" if passed else " <span class='fail'>FAIL</span>")
            parts.append(f"<h{level}>{e(title)}{badge}</h{level}>")
        elif kind == "figures":
            parts.append("<p class='figures'>" + "".join(f"<span>{e(f.label)}: <b>{e(f.text)}</b></span>" for f in content)
                         + "</p>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in content) + "</ul>")
        elif kind == "chart":
            parts.append(chart_html(content))
        elif kind == "table":
            if content.rows:
                parts.append(table_html(content.header, content.rows, content.title))
        elif kind == "text":
            parts.append(f"<p>{e(content)}</p>")
    return "".join(parts)
