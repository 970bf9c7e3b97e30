"""How long a review will take, per component, before it starts (for the Reviews page), and which
component a progress report belongs to while it runs.

The rates are medians measured by bench/review_peer.py on 2 cores (LightGBM, the demo at 50,000 rows;
see the README); a busy machine or a bigger model takes longer, a cluster (explanations and
counterfactuals) less. They are estimates to plan by, shown as such.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# seconds = fixed + per_row * rows (rows: evaluated rows; counterfactuals: cf_rows x cf_count / 10; causal: per treatment)
RATES = {
    "overview": (0.5, 20e-6),
    "explain": (3.0, 150e-6),     # TreeSHAP of every explained row, plus partial dependence on 1,000 rows
    "errors": (0.5, 30e-6),
    "fairness": (2.0, 60e-6),     # bootstrap intervals per group
    "counterfactuals": (0.5, 1 / 200),  # 200 rows a second at 10 counterfactuals per row
    "causal": (0.0, 0.0),
    "privacy": (5.0, 100e-6),
}
CAUSAL_PER_TREATMENT = 10.0
# Where each component starts on the review's overall progress (core.review.create's report() calls).
STARTS = [(0.0, "overview"), (0.15, "explain"), (0.75, "errors"), (0.85, "fairness"), (0.86, "counterfactuals"),
          (0.88, "causal"), (0.9, "privacy")]


@dataclass(frozen=True)
class Estimate:
    component: str
    seconds: float
    basis: str


def estimate(components: Sequence[str], *, rows: int, explain_rows: int = 100_000, cf_rows: int = 100,
             cf_count: int = 5, treatments: Sequence[str] = (), workers: int = 1) -> list[Estimate]:
    """Seconds per chosen component for a review of `rows` evaluated rows (explanations and counterfactuals
    divided among `workers` Dask workers)."""
    out = []
    for component in components:
        fixed, per_row = RATES[component]
        if component == "explain":
            n, basis = min(rows, explain_rows), f"{min(rows, explain_rows):,} rows explained"
            seconds = fixed + per_row * n / max(1, workers)
        elif component == "counterfactuals":
            n = cf_rows * cf_count / 10
            seconds, basis = fixed + per_row * n / max(1, workers), f"{cf_rows:,} rows x {cf_count} counterfactuals"
        elif component == "causal":
            seconds, basis = CAUSAL_PER_TREATMENT * len(treatments), f"{len(treatments)} treatment(s)"
        else:
            seconds, basis = fixed + per_row * rows, f"{rows:,} rows"
        out.append(Estimate(component, round(seconds, 1), basis))
    return out


def running(fraction: float, components: Sequence[str]) -> str:
    """The chosen component a review's overall progress fraction falls in."""
    current = components[0] if components else ""
    for start, component in STARTS:
        if fraction >= start and component in components:
            current = component
    return current


def progress_by_component(fraction: float, components: Sequence[str]) -> dict:
    """Each chosen component's own progress (0 to 1) at a review's overall progress fraction."""
    chosen = [(start, c) for start, c in STARTS if c in components]
    out = {}
    for i, (start, component) in enumerate(chosen):
        end = chosen[i + 1][0] if i + 1 < len(chosen) else 0.92  # then the review is saved
        out[component] = max(0.0, min(1.0, (fraction - start) / max(end - start, 1e-9)))
    return out
