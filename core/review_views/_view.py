"""What a renderer returns: a typed view of one stored review component (headline numbers,
sentences with failing verdicts first, tables and Altair charts), and the plain blocks that the
documents (meeting report, scorecard HTML and PDF) print from it."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from core.errors import InputError


class ViewSettingsError(InputError):
    """A view was asked for with settings it cannot honour (unknown key, or a value the stored
    review does not hold). Raised, never answered with a default view."""


@dataclass(frozen=True)
class Figure:
    """A headline number: its label, the stored value, and the text printed for it."""
    label: str
    value: Any
    text: str


@dataclass(frozen=True)
class Table:
    header: tuple
    rows: tuple  # raw stored values; printed with fmt()
    title: str = ""


@dataclass(frozen=True)
class Section:
    """One block of a view: e.g. the fairness of one sensitive column or intersection."""
    title: str
    passed: Optional[bool] = None  # the section's verdict; None when it has none
    headline: tuple = ()  # Figure, ...
    sentences: tuple = ()  # failing verdicts first
    tables: tuple = ()  # Table, ...
    charts: tuple = ()  # Altair charts (each titled)


@dataclass(frozen=True)
class View:
    component: str
    title: str
    computed: bool
    settings: dict = field(default_factory=dict)
    sections: tuple = ()
    note: str = ""  # why there is nothing to show (not computed, not applicable)

    @property
    def failing(self) -> list[Section]:
        return [s for s in self.sections if s.passed is False]


def fmt(value: Any) -> str:
    """How every document prints a stored value (4 decimals for rates and ratios, never 64400.000000)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):  # rates and ratios to 4 decimals; amounts (1,000 and above) as people write them
        if abs(value) >= 1000:
            return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
        return f"{value:.4f}"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"{value[0]:.4f} – {value[1]:.4f}"
    return str(value)


def verdict(passed: Optional[bool]) -> str:
    return "" if passed is None else ("pass" if passed else "FAIL")


def blocks(view: View) -> list[tuple[str, Any]]:
    """The view as printable blocks: ("heading", (title, passed)), ("figures", [Figure]), ("list", [str]),
    ("table", Table), ("chart", altair chart), ("text", str)."""
    if not view.computed or not view.sections:
        return [("text", view.note or "Nothing to show.")]
    out: list[tuple[str, Any]] = [("text", view.note)] if view.note else []
    for section in view.sections:
        if section.title != view.title or section.passed is not None:  # no heading that repeats the view's
            out.append(("heading", (section.title, section.passed)))
        if section.headline:
            out.append(("figures", list(section.headline)))
        if section.sentences:
            out.append(("list", list(section.sentences)))
        out += [("chart", chart) for chart in section.charts]
        out += [("table", table) for table in section.tables]
    return out


def png(chart, *, scale: float = 2) -> bytes:
    """A chart drawn offline (vl-convert), for the documents."""
    return _png(chart.to_json(), scale)


@lru_cache(maxsize=64)
def _png(spec: str, scale: float) -> bytes:
    """Keyed by the full spec (data included): the PDF and the HTML of one scorecard draw each chart once."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec, scale=scale)


def chart_title(chart) -> str:
    title = chart.to_dict().get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title)
