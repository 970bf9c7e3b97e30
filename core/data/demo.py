"""The built-in demo: seeded, synthetic credit applications with known truths planted in them.

Tables (use case `credit_approval`):
- `applications`: one row per application (50,000 by default, up to 10M with --rows):
  applicant_id, applied_at, sex, race_ethnicity, age, region, employment, years_employed,
  income, debt, credit_history_months, num_credit_lines, late_payments_12m, loan_amount,
  loan_term_months, home_ownership, counselling (treatment), defaulted (binary outcome).
  Missing values: income (~6%, more often for the self-employed), years_employed (~8%).
- `transactions`: monthly account activity, ~20 rows per applicant (applicant_id, tx_at, amount,
  category); about one row in ten falls after the application time, so feature building must
  be point-in-time correct to avoid leakage.
- `applications_batch2`: a later batch (a fifth of the size) with planted drift.

Planted truths (also `PLANTED` below and, with figures measured on the generated rows, the
`demo_truths` setting in the lake):
(a) Disparity: applicants in race_ethnicity 'Group B' get +0.8 on the log-odds of default
    beyond what the features justify; race is not needed as a model input to see it because
    region is a proxy (60% of Group B live in 'south').
(b) Treatment: `counselling` (financial counselling) lowers the probability of default by
    0.08 + 0.003 * (45 - age) (clipped to probabilities in [0.005, 0.995]): a stronger effect
    for younger applicants. It is given more often to applicants with high debt-to-income
    (confounding), so the naive difference in means is biased. The exact average effect on
    the generated rows (on the recorded label, so none in the coin-toss cohort of (c)) is stored
    as `true_ate`.
(c) Label noise: in the cohort employment = 'self_employed' and age < 40, half the labels are
    flipped (so they are coin tosses there); elsewhere the label follows the features closely.
(d) Drift in `applications_batch2`: income x0.7, loan_amount x1.5, and renters 40% -> 65%
    of applicants (home_ownership); every other input column keeps its distribution (debt,
    late payments and counselling depend on a latent earning potential, not on the drifted
    income). Ids and timestamps move on by construction; the label drifts as a consequence.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import pandas as pd

from core.data import datasets, usecases
from core.lake import scratch, settings
from core.errors import InputError
from core.lake import Lake
from core.progress import Progress, report

USECASE = "credit_approval"
CHUNK_ROWS = 500_000
TX_SLICE = 50_000  # applicants whose transactions are generated together (~1M rows)
MAX_ROWS = 10_000_000


@dataclass(frozen=True)
class Planted:
    disparity_column: str = "race_ethnicity"
    disparity_group: str = "Group B"
    disparity_logit: float = 0.8
    proxy_column: str = "region"
    treatment: str = "counselling"
    outcome: str = "defaulted"
    heterogeneity_feature: str = "age"
    effect_intercept: float = -0.08  # effect on P(default) at age 45
    effect_per_year_younger: float = -0.003  # each year younger than 45 adds this much
    noisy_cohort: tuple = ({"column": "employment", "op": "==", "value": "self_employed"},
                           {"column": "age", "op": "<", "value": 40})
    noise_flip_rate: float = 0.5
    drifted_features: tuple = ("income", "loan_amount", "home_ownership")
    stable_features: tuple = ("sex", "race_ethnicity", "age", "region", "employment", "years_employed", "debt",
                              "credit_history_months", "num_credit_lines", "late_payments_12m",
                              "loan_term_months", "counselling")

    def effect(self, age: np.ndarray) -> np.ndarray:
        return self.effect_intercept + self.effect_per_year_younger * (45 - np.asarray(age, dtype=float))


PLANTED = Planted()
_RACES = np.array(["Group A", "Group B", "Group C", "Group D", "Group E"])
_REGIONS = np.array(["north", "south", "east", "west", "central"])
_EMPLOYMENT = np.array(["employed", "self_employed", "unemployed", "retired", "student"])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def applications(n: int, *, seed: int, start_id: int = 1, shifted: bool = False,
                 start: str = "2024-01-01", days: int = 730) -> tuple[pd.DataFrame, dict]:
    """One chunk of applications, and the sums needed for the exact planted truths."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start_id, start_id + n, dtype=np.int64)
    applied_at = pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, days * 86400, n), unit="s")
    sex = np.where(rng.random(n) < 0.48, "female", "male")
    race = _RACES[rng.choice(5, n, p=[0.55, 0.2, 0.12, 0.08, 0.05])]
    age = np.clip(rng.normal(42, 13, n), 18, 85).astype(np.int64)
    is_b = race == PLANTED.disparity_group
    region = np.where(is_b & (rng.random(n) < 0.6), "south", _REGIONS[rng.integers(0, 5, n)])
    employment = _EMPLOYMENT[rng.choice(5, n, p=[0.71, 0.14, 0.07, 0.05, 0.03])]
    employment = np.where((age > 64) & (rng.random(n) < 0.7), "retired", employment)
    employment = np.where((age < 25) & (rng.random(n) < 0.3), "student", employment)
    working = np.isin(employment, ["employed", "self_employed"])
    years_employed = np.where(working, np.minimum(age - 18, rng.exponential(7, n)).round(1), 0.0)
    factor = pd.Series(employment).map({"employed": 1.0, "self_employed": 1.1, "unemployed": 0.35,
                                        "retired": 0.6, "student": 0.3}).to_numpy()
    potential = np.exp(rng.normal(10.8, 0.5, n)) * factor  # earning potential: what debt and behaviour follow
    income = np.round(potential * (0.7 if shifted else 1.0), -2)
    debt = np.round(potential * rng.beta(2, 5, n) * 1.2 + rng.exponential(2000, n), -1)
    dti = debt / potential
    history = np.round((age - 18) * 12 * rng.uniform(0.3, 1.0, n)).astype(np.int64)
    lines = rng.poisson(3, n).astype(np.int64)
    late = rng.poisson(0.3 + 0.8 * np.clip(dti - 0.3, 0, 2), n).astype(np.int64)
    loan = np.round(np.exp(rng.normal(9.6, 0.6, n)) * (1.5 if shifted else 1.0), -2)
    term = rng.choice([12, 24, 36, 48, 60], n)
    home = np.array(["rent", "own", "mortgage"])[rng.choice(3, n, p=[0.65, 0.15, 0.2] if shifted else [0.4, 0.25, 0.35])]
    treated = (rng.random(n) < _sigmoid(-1.0 + 2.0 * (dti - 0.35) + 0.3 * (late > 0))).astype(np.int64)

    logit = (-1.8 + 5.0 * (debt / income - 0.35) + 1.0 * late - 0.01 * (history - 150) + 0.6 * (loan / income)
             + pd.Series(employment).map({"employed": 0.0, "self_employed": 0.3, "unemployed": 1.8,
                                          "retired": 0.2, "student": 1.0}).to_numpy()
             + PLANTED.disparity_logit * is_b)
    p0 = np.clip(_sigmoid(logit), 0.005, 0.995)
    p1 = np.clip(p0 + PLANTED.effect(age), 0.005, 0.995)
    defaulted = (rng.random(n) < np.where(treated == 1, p1, p0)).astype(np.int64)
    noisy = (employment == "self_employed") & (age < 40)
    flip = noisy & (rng.random(n) < PLANTED.noise_flip_rate)
    defaulted = np.where(flip, 1 - defaulted, defaulted)

    income = np.where(rng.random(n) < np.where(employment == "self_employed", 0.15, 0.045), np.nan, income)
    years_employed = np.where(rng.random(n) < 0.08, np.nan, years_employed)
    frame = pd.DataFrame({
        "applicant_id": ids, "applied_at": applied_at.floor("s").astype("datetime64[us]"), "sex": sex, "race_ethnicity": race,
        "age": age, "region": region, "employment": employment, "years_employed": years_employed,
        "income": income, "debt": debt, "credit_history_months": history, "num_credit_lines": lines,
        "late_payments_12m": late, "loan_amount": loan, "loan_term_months": term.astype(np.int64),
        "home_ownership": home, "counselling": treated, "defaulted": defaulted,
    })
    # The effect on the recorded label: where labels are coin tosses (the noisy cohort, flipped with
    # probability r), the treatment moves the recorded outcome by (1 - 2r) of its effect on the true one.
    effect = (p1 - p0) * np.where(noisy, 1 - 2 * PLANTED.noise_flip_rate, 1.0)
    young = age < 35
    sums = {"n": n, "effect": float(effect.sum()), "young_n": int(young.sum()), "young_effect": float(effect[young].sum()),
            "old_n": int((~young).sum()), "old_effect": float(effect[~young].sum()), "noisy_n": int(noisy.sum()),
            "noisy_flipped": int(flip.sum())}
    return frame, sums


def transactions(apps: pd.DataFrame, *, seed: int, per_applicant: float = 20.0) -> pd.DataFrame:
    """Account activity of the applicants in `apps`: ~90% before the application time, ~10% after."""
    rng = np.random.default_rng(seed + 1_000_003)
    counts = rng.poisson(per_applicant, len(apps))
    owner = np.repeat(np.arange(len(apps)), counts)
    total = len(owner)
    after = rng.random(total) < 0.1
    offset_days = np.where(after, rng.uniform(1, 90, total), -rng.uniform(0, 540, total))
    applied = apps["applied_at"].to_numpy()[owner]
    tx_at = (pd.to_datetime(applied) + pd.to_timedelta(offset_days * 86400, unit="s")).floor("s").astype("datetime64[us]")
    income = apps["income"].fillna(apps["income"].median()).to_numpy()[owner]
    stressed = apps["defaulted"].to_numpy()[owner] == 1
    is_deposit = rng.random(total) < 0.35
    amount = np.where(is_deposit, income / 12 * rng.uniform(0.8, 1.2, total),
                      -income / 12 * rng.gamma(2.0, 0.25, total) * np.where(stressed, 1.35, 1.0))
    category = np.where(is_deposit, "deposit",
                        np.array(["groceries", "rent", "utilities", "travel", "cash"])[rng.integers(0, 5, total)])
    return pd.DataFrame({"applicant_id": apps["applicant_id"].to_numpy()[owner], "tx_at": tx_at,
                         "amount": np.round(amount, 2), "category": category})


def build(lake: Lake, *, rows: int = 50_000, seed: int = 7, actor: str = "demo", with_transactions: bool = True,
          progress: Optional[Progress] = None) -> dict:
    """Generate the demo into the lake (new versions if it exists) and return what was written.

    While it runs, a folder LAKE/tmp/demo-PID-... says so: a half-written demo whose builder still runs is
    "building", not "incomplete" (the app must not start a second build beside a CLI one)."""
    if not isinstance(rows, int) or rows < 1_000 or rows > MAX_ROWS:
        raise InputError(f"--rows must be a whole number from 1,000 to {MAX_ROWS:,}, not {rows!r}.")
    with scratch.spool(lake.config.folder, "demo"):
        return _build(lake, rows=rows, seed=seed, actor=actor, with_transactions=with_transactions, progress=progress)


def _build(lake: Lake, *, rows: int, seed: int, actor: str, with_transactions: bool,
           progress: Optional[Progress]) -> dict:
    _ensure_usecase(lake, actor)
    chunks = max(1, -(-rows // CHUNK_ROWS))
    sizes = [min(CHUNK_ROWS, rows - i * CHUNK_ROWS) for i in range(chunks)]
    sums: dict = {}

    def app_chunks() -> Iterator[pd.DataFrame]:
        sums.clear()
        for i, size in enumerate(sizes):
            frame, part = applications(size, seed=seed + i, start_id=1 + i * CHUNK_ROWS)
            for key, value in part.items():
                sums[key] = sums.get(key, 0) + value
            yield frame

    steps = 3 if with_transactions else 2
    report(progress, 0.0, f"Generating {rows:,} applications")
    apps = datasets.ingest_chunks(lake, app_chunks, name="applications", actor=actor, usecase=USECASE,
                                  source=f"demo generator (seed {seed})", expected_chunks=chunks,
                                  description="Synthetic credit applications with planted truths (core/demo.py)",
                                  progress=_scaled(progress, 0.0, 1 / steps))
    written = {"applications": apps.ref}
    if with_transactions:
        def tx_chunks() -> Iterator[pd.DataFrame]:
            for i, size in enumerate(sizes):
                frame, _ = applications(size, seed=seed + i, start_id=1 + i * CHUNK_ROWS)
                # ~20 transactions per applicant: generate them for a slice of applicants at a time
                for start in range(0, size, TX_SLICE):
                    yield transactions(frame.iloc[start:start + TX_SLICE], seed=seed + i * 1_000 + start // TX_SLICE)

        tx = datasets.ingest_chunks(lake, tx_chunks, name="transactions", actor=actor, usecase=USECASE,
                                    source=f"demo generator (seed {seed})",
                                    expected_chunks=sum(-(-size // TX_SLICE) for size in sizes),
                                    description="Monthly account activity of the demo applicants",
                                    progress=_scaled(progress, 1 / steps, 2 / steps))
        written["transactions"] = tx.ref
    batch_rows = max(1_000, rows // 5)
    batch, _ = applications(batch_rows, seed=seed + 10_007, start_id=1 + rows, shifted=True,
                            start="2026-01-01", days=180)
    report(progress, (steps - 1) / steps, "Writing the shifted second batch")
    b2 = datasets.ingest_frame(lake, batch, name="applications_batch2", actor=actor, usecase=USECASE,
                               source=f"demo generator (seed {seed}, shifted)",
                               description="A later batch with planted drift in income, loan_amount, home_ownership")
    written["applications_batch2"] = b2.ref
    truths = {
        "true_ate": sums["effect"] / sums["n"],
        "true_effect_under_35": sums["young_effect"] / sums["young_n"],
        "true_effect_35_and_over": sums["old_effect"] / sums["old_n"],
        "noisy_cohort_rows": sums["noisy_n"], "noisy_cohort_flipped": sums["noisy_flipped"],
        "rows": rows, "seed": seed, "datasets": written,
    }
    settings.put(lake, "demo_truths", json.dumps(truths), actor=actor, action="demo")
    report(progress, 1.0, f"Demo ready: {', '.join(written.values())}")
    return truths


def truths(lake: Lake) -> Optional[dict]:
    raw = settings.get(lake, "demo_truths")
    return json.loads(raw) if raw else None


DEMO_TABLES = ("applications", "transactions", "applications_batch2")
_SOURCE_PREFIX = "demo generator (seed "


def state(lake: Lake) -> dict:
    """Whether the demo is "absent", "complete", "building" (a build runs now) or "incomplete" (a build
    stopped half-way, e.g. killed).

    `build` writes its tables one by one and its truths (`demo_truths`) last, so a demo table version
    newer than the truths is the trace of a build that did not finish: the lake then holds, say, a new
    `applications` without the `transactions` and truths that belong to it."""
    truths_at = lake.snapshot_for_tag("setting:demo_truths")
    newest: dict = {}
    for name in DEMO_TABLES:
        made = [v for v in datasets.versions(lake, name) if v.source.startswith(_SOURCE_PREFIX)]
        if made:
            newest[name] = max(made, key=lambda v: v.version)
    if not newest:
        return {"state": "absent", "partial": []}
    partial = sorted(v.ref for v in newest.values() if truths_at is None or (v.snapshot or 0) > truths_at)
    if not partial:
        return {"state": "complete", "partial": []}
    building = any(e.alive and e.path.name.startswith("demo-") for e in scratch.entries(lake.config.folder))
    return {"state": "building" if building else "incomplete", "partial": partial}


def repair(lake: Lake, *, actor: str = "demo", progress: Optional[Progress] = None) -> dict:
    """Complete a half-built demo by building it again with the interrupted build's rows and seed (new
    versions; the partial ones stay in the history, superseded). Returns what was built."""
    found = state(lake)
    if found["state"] != "incomplete":
        return {"state": found["state"], "built": None}
    partial = {ref.split("@")[0]: datasets.get(lake, ref) for ref in found["partial"]}
    first = partial.get("applications") or next(iter(partial.values()))
    seed_text = first.source[len(_SOURCE_PREFIX):].split(")")[0].split(",")[0]
    seed = int(seed_text) if seed_text.isdigit() else 7
    rows = partial["applications"].rows if "applications" in partial else 50_000
    rows = min(max(rows, 1_000), MAX_ROWS)
    built = build(lake, rows=rows, seed=seed, actor=actor, progress=progress)
    return {"state": "complete", "replaced": found["partial"], "built": built["datasets"], "rows": rows, "seed": seed}


def needs_build(lake: Lake) -> bool:
    """True on a lake with no data at all (first start) and on a lake whose demo build stopped half-way."""
    return not datasets.latest(lake) or state(lake)["state"] == "incomplete"


def ensure(lake: Lake, *, progress: Optional[Progress] = None) -> bool:
    """Build the demo on first start (an empty lake), or complete one a crash left half-built; True when built now."""
    if state(lake)["state"] == "incomplete":
        repair(lake, progress=progress)
        return True
    if datasets.latest(lake):
        return False
    build(lake, progress=progress)
    return True


def ingest_ihdp(lake: Lake, *, actor: str = "demo") -> datasets.DatasetVersion:
    """The IHDP experiment sample that ships inside econml (985 children, randomized home visits).

    `treat` is the program, `iqsb_36` the child's IQ score at 36 months; dots in the original
    column names become underscores so they are plain SQL identifiers.
    """
    from pathlib import Path

    import econml

    path = Path(econml.__file__).parent / "data" / "ihdp" / "example.csv"
    if not path.is_file():
        raise InputError("The IHDP sample is not in this econml installation (econml/data/ihdp/example.csv).")
    frame = pd.read_csv(path)
    frame.columns = [c.replace(".", "_") for c in frame.columns]
    if not any(u.name == "ihdp_trial" for u in usecases.list_usecases(lake)):
        usecases.add(lake, "ihdp_trial", actor=actor, owner="demo",
                     objective="Estimate the effect of the IHDP home-visit program on the child's IQ at 36 months",
                     data_sources=("econml/data/ihdp/example.csv (Infant Health and Development Program)",))
    return datasets.ingest_frame(lake, frame, name="ihdp", actor=actor, usecase="ihdp_trial",
                                 source="econml package: data/ihdp/example.csv",
                                 description="IHDP randomized trial: covariates, treat, child IQ score iqsb_36")


def _ensure_usecase(lake: Lake, actor: str) -> None:
    if any(u.name == USECASE for u in usecases.list_usecases(lake)):
        return
    usecases.add(lake, USECASE, actor=actor, owner="risk-analytics",
                 objective="Predict which credit applicants will default within 12 months, fairly across groups",
                 stakeholders=("data-science lead", "credit risk officer", "compliance"),
                 data_sources=("applications (core system)", "transactions (account activity)"),
                 success_metrics=(usecases.SuccessMetric("roc_auc", 0.75),
                                  usecases.SuccessMetric("selection_rate_ratio", 0.8)))


def _scaled(progress: Optional[Progress], low: float, high: float) -> Optional[Progress]:
    if progress is None:
        return None
    return lambda fraction, message: progress(low + (high - low) * fraction, message)
