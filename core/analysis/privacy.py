"""Privacy: does the data or the model expose people?

- Personal-data scan: column names and value patterns (email, phone, national id, card number,
  IP address, person names, dates of birth, free text), on a sample of each column's values.
- k-anonymity over chosen quasi-identifiers (the smallest group of rows sharing their values,
  and the share of rows in groups smaller than k), with the effect of bucketing numbers; and
  l-diversity of a sensitive column (distinct sensitive values in each such group).
- Membership inference against a model: an attack that tells training rows from held-out rows
  by the model's loss (and by its confidence); its ROC AUC, 0.5 meaning nothing leaks.
- Concrete recommendations: drop, generalize, bucket, regularize.
"""
from __future__ import annotations

import re
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from core.data import datasets
from core import training
from core.errors import InputError
from core.lake import Lake
from core.names import parse_dataset_ref
from core.progress import Progress, report

SAMPLE = 2_000
MATCH_SHARE = 0.3  # a value pattern flags a column when this share of its sampled values match
ATTACK_ROWS = 10_000

NAME_HINTS = {
    "email": r"e-?mail", "phone": r"phone|mobile|\btel\b|telephone", "national_id": r"\bssn\b|social_sec|national_?id|passport|nin\b|tax_?id",
    "name": r"(^|_)(first|last|full|given|family|sur)_?name$|^name$", "date_of_birth": r"birth|\bdob\b|born",
    "address": r"address|street|postcode|zip_?code|postal", "ip_address": r"(^|_)ip(_|$)|ip_?addr",
    "card_number": r"card_?(number|no)|\bpan\b|credit_?card", "identifier": r"(^|_)(id|uuid|guid)$|_id$",
}
VALUE_PATTERNS = {
    "email": re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),
    "phone": re.compile(r"^\+?[\d\s().-]{7,}$"),
    "national_id": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "ip_address": re.compile(r"^(\d{1,3}\.){3}\d{1,3}$"),
    "card_number": re.compile(r"^(\d[ -]?){13,19}$"),
    "name": re.compile(r"^[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}$"),
}
RECOMMEND = {
    "email": "drop it (or replace it by a keyed hash if rows must be joined)",
    "phone": "drop it", "national_id": "drop it", "card_number": "drop it (and check how it got here)",
    "ip_address": "drop it or truncate to the network (e.g. /24)", "name": "drop it",
    "address": "generalize to a region or the first part of the postcode",
    "date_of_birth": "generalize to the year or an age band", "identifier": "keep out of models; drop before sharing",
    "free_text": "drop it, or scrub names and numbers before use",
}


def scan(frame: pd.DataFrame, seed: int = 0) -> list[dict]:
    """Columns that look like personal data, with the evidence and what to do."""
    findings = []
    for column in frame.columns:
        values = frame[column]
        kinds: dict[str, str] = {}
        lowered = column.lower()
        for kind, pattern in NAME_HINTS.items():
            if re.search(pattern, lowered):
                kinds.setdefault(kind, "column name")
        known = values.dropna()
        if len(known):
            sample = known.sample(min(SAMPLE, len(known)), random_state=seed)
            if pd.api.types.is_datetime64_any_dtype(values):
                if "date_of_birth" in kinds:
                    kinds["date_of_birth"] = "column name and date values"
            elif not pd.api.types.is_numeric_dtype(values) or "card" in lowered or "phone" in lowered:
                text = sample.astype(str).str.strip()
                for kind, pattern in VALUE_PATTERNS.items():
                    share = float(text.str.match(pattern).mean())
                    if kind == "card_number":
                        share = sum(_luhn(v) for v in text[text.str.match(pattern)]) / len(text)
                    if share >= MATCH_SHARE and not (kind == "phone" and pd.api.types.is_numeric_dtype(values)):
                        kinds[kind] = f"{share:.0%} of sampled values look like one"
                if kinds.keys() & {"national_id", "card_number", "ip_address"}:
                    kinds.pop("phone", None)  # the more specific pattern wins
                if text.str.len().mean() > 40 and text.str.count(" ").mean() > 5:
                    kinds["free_text"] = f"long text (mean {text.str.len().mean():.0f} characters)"
        for kind, evidence in kinds.items():
            findings.append({"column": column, "kind": kind, "evidence": evidence, "recommendation": RECOMMEND[kind]})
    return findings


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def k_anonymity(frame: pd.DataFrame, quasi: Sequence[str], k: int = 5, sensitive: Optional[str] = None) -> dict:
    """Groups of rows sharing every quasi-identifier value: the smallest, the share of rows in groups
    under k, and (with `sensitive`) l-diversity: distinct sensitive values per group."""
    quasi = list(quasi)
    if not quasi:
        raise InputError("Name the quasi-identifiers (--quasi COL ...): columns someone could know about a person, "
                         "such as age, postcode or sex.")
    missing = [c for c in quasi + ([sensitive] if sensitive else []) if c not in frame.columns]
    if missing:
        raise InputError(f"No column(s) {missing}; the data has {', '.join(frame.columns[:30])}.")
    if not isinstance(k, int) or k < 2:
        raise InputError(f"k must be a whole number of at least 2, not {k!r}.")
    _refuse_quasi_sensitive(quasi, sensitive)
    keys = frame[quasi].astype("object").where(frame[quasi].notna(), "(missing)").astype(str)
    sizes = keys.groupby(quasi, sort=False).transform("size") if len(quasi) > 1 else keys.groupby(quasi[0]).transform("size")
    sizes = np.asarray(sizes if isinstance(sizes, pd.Series) else sizes.iloc[:, 0])
    group_sizes = keys.value_counts() if len(quasi) > 1 else keys[quasi[0]].value_counts()
    out = {"quasi_identifiers": quasi, "k": k, "rows": int(len(frame)), "groups": int(len(group_sizes)),
           "smallest_group": int(group_sizes.min()) if len(group_sizes) else 0,
           "share_below_k": float((sizes < k).mean()) if len(sizes) else 0.0,
           "unique_rows_share": float((sizes == 1).mean()) if len(sizes) else 0.0}
    out["passed"] = out["smallest_group"] >= k
    if sensitive:
        diversity = frame.assign(__key=keys.agg("|".join, axis=1)).groupby("__key")[sensitive].nunique(dropna=False)
        per_row = frame.assign(__key=keys.agg("|".join, axis=1))["__key"].map(diversity)
        out["l_diversity"] = {"sensitive": sensitive, "l": int(diversity.min()) if len(diversity) else 0,
                              "share_rows_l_below_2": float((per_row < 2).mean())}
    return out


def _refuse_quasi_sensitive(quasi: Sequence[str], sensitive: Optional[str]) -> None:
    if sensitive and sensitive in quasi:
        raise InputError(f"l-diversity of {sensitive!r} cannot be computed while {sensitive!r} is also a quasi-identifier: "
                         "everyone in a group shares its value, so l would be 1 by construction. Name a sensitive "
                         f"column that is not among the quasi-identifiers, or leave {sensitive!r} out of them.")


def l_diversity_column(sensitive: Sequence[str], quasi: Sequence[str]) -> tuple[Optional[str], list[str]]:
    """The sensitive attribute for l-diversity among a review's sensitive columns: the first that is not a
    quasi-identifier; and those passed over because they are."""
    passed_over = [c for c in sensitive if c in quasi]
    chosen = next((c for c in sensitive if c not in quasi), None)
    return chosen, passed_over


def bucketed(frame: pd.DataFrame, quasi: Sequence[str], bins: int = 5) -> pd.DataFrame:
    """Numeric quasi-identifiers with many values cut into quantile ranges (a generalization to try)."""
    out = frame.copy()
    for column in quasi:
        if pd.api.types.is_numeric_dtype(out[column]) and out[column].nunique() > bins * 2:
            out[column] = pd.qcut(out[column], bins, duplicates="drop").astype(str)
    return out


def membership_inference(lake: Lake, run_id: str | training.TrainedRun, seed: int = 0) -> dict:
    """How well the model's loss (and its confidence) tells training rows from held-out rows: ROC AUC of
    the attack on a balanced sample. 0.5 means no leak; above ~0.6 the model remembers its training rows."""
    from sklearn.metrics import roc_auc_score


    trained = training.open_run(lake, run_id)  # a review hands its TrainedRun: the model is not loaded again
    run, model = trained.run, trained.model
    version, _ = training.evaluation_source(lake, run, None)
    test_filter, params = training.held_out_filter(run.run_id)
    held = datasets.read_frame(lake, version, where=test_filter, params=params, limit=ATTACK_ROWS)
    seen = datasets.read_frame(lake, version, where=f"NOT ({test_filter})", params=params, limit=ATTACK_ROWS)
    held, seen = held[held[run.target].notna()], seen[seen[run.target].notna()]
    n = min(len(held), len(seen))
    if n < 50:
        raise InputError(f"Run {run.run_id} has too few rows on one side ({n}) for a membership test.")
    rng = np.random.default_rng(seed)
    held, seen = held.iloc[rng.choice(len(held), n, replace=False)], seen.iloc[rng.choice(len(seen), n, replace=False)]
    both = pd.concat([seen, held], ignore_index=True)
    member = np.r_[np.ones(n), np.zeros(n)]
    X = both[run.feature_names]
    if run.task in ("binary", "multiclass"):
        proba = model.predict_proba(X)
        lookup = {str(c): i for i, c in enumerate(run.classes)}
        truth = both[run.target].astype(str).map(lookup)
        known = truth.notna().to_numpy()
        p_true = np.where(known, proba[np.arange(len(both)), truth.fillna(0).astype(int)], np.nan)
        loss = -np.log(np.clip(p_true, 1e-12, 1))
        confidence = proba.max(axis=1)
        auc_conf = float(roc_auc_score(member[known], confidence[known]))
    else:
        predicted = np.asarray(model.predict(X), dtype=float)
        loss = (both[run.target].astype(float).to_numpy() - predicted) ** 2
        known = ~np.isnan(loss)
        auc_conf = None
    auc_loss = float(roc_auc_score(member[known], -loss[known]))
    best = max(a for a in (auc_loss, auc_conf) if a is not None)
    return {"run_id": run.run_id, "rows_per_side": int(n), "auc_loss_attack": auc_loss, "auc_confidence_attack": auc_conf,
            "auc": best, "advantage": round(2 * (best - 0.5), 4),
            "mean_loss_training": float(np.nanmean(loss[:n])), "mean_loss_held_out": float(np.nanmean(loss[n:])),
            "risk": "high" if best >= 0.65 else ("moderate" if best >= 0.55 else "low")}


def assess(lake: Lake, dataset: str, *, quasi: Sequence[str] = (), sensitive: Optional[str] = None, k: int = 5,
           run_id: Optional[str | training.TrainedRun] = None, seed: int = 0, passed_over: Sequence[str] = (),
           progress: Optional[Progress] = None) -> dict:
    """The whole privacy check of a dataset version (and, with `run_id`, of a model trained on it).
    `passed_over`: sensitive columns not used for l-diversity because they are quasi-identifiers (said
    in the result when none is left)."""
    _refuse_quasi_sensitive(list(quasi), sensitive)
    version = datasets.get(lake, parse_dataset_ref(dataset))
    report(progress, 0.05, f"Reading {version.ref}")
    frame = datasets.read_frame(lake, version)
    report(progress, 0.3, "Scanning the columns for personal data")
    findings = scan(frame, seed=seed)
    result: dict[str, Any] = {"dataset": version.ref, "rows": int(len(frame)), "personal_data": findings}
    recommendations = [f"{f['column']}: {f['recommendation']} ({f['kind'].replace('_', ' ')}, {f['evidence']})."
                       for f in findings]
    if quasi:
        report(progress, 0.5, f"k-anonymity over {_names(quasi)}")
        result["k_anonymity"] = k_anonymity(frame, quasi, k=k, sensitive=sensitive)
        if not result["k_anonymity"]["passed"]:
            generalized = k_anonymity(bucketed(frame, quasi), quasi, k=k, sensitive=sensitive)
            result["k_anonymity_bucketed"] = generalized
            widest = max(quasi, key=lambda c: frame[c].nunique())
            recommendations.append(
                f"k-anonymity fails: {result['k_anonymity']['share_below_k']:.1%} of rows sit in groups under {k} "
                f"(smallest {result['k_anonymity']['smallest_group']}). Bucketing the numeric quasi-identifiers into "
                f"quintiles gives {generalized['share_below_k']:.1%}; {widest} has the most distinct values "
                f"({frame[widest].nunique():,}): generalize it first.")
        diversity = result["k_anonymity"].get("l_diversity")
        if not sensitive:
            result["l_diversity_note"] = "l-diversity was not computed: " + (
                f"{_names(passed_over)} {'is' if len(passed_over) == 1 else 'are'} also among the quasi-identifiers, "
                "and a quasi-identifier cannot be its own sensitive attribute (its l is 1 by construction)."
                if passed_over else "no sensitive column was named.")
        if diversity and diversity["l"] < 2:
            recommendations.append(f"l-diversity of {sensitive} is {diversity['l']}: in some groups everyone shares the "
                                   f"same {sensitive} ({diversity['share_rows_l_below_2']:.1%} of rows), so knowing the "
                                   "quasi-identifiers reveals it. Generalize the quasi-identifiers further.")
    elif sensitive:
        raise InputError("l-diversity needs the quasi-identifiers too: add --quasi COL ...")
    if run_id:
        report(progress, 0.65, f"Membership inference against run {run_id}")
        attack = membership_inference(lake, run_id, seed=seed)
        result["membership_inference"] = attack
        if attack["risk"] != "low":
            recommendations.append(f"The model tells its training rows from others with AUC {attack['auc']:.2f}: "
                                   "regularize it (fewer leaves or trees, more rows per leaf, early stopping) or train "
                                   "with more data before releasing scores outside the team.")
    report(progress, 1.0, "Privacy checked")
    result["recommendations"] = ((recommendations or ["No personal-data columns were found by name or value pattern."])
                                 + ([result["l_diversity_note"]] if "l_diversity_note" in result else []))
    return result


def _names(columns: Sequence[str]) -> str:
    quoted = [repr(c) for c in columns]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
