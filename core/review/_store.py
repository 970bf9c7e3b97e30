"""Reviews: one model (a run) evaluated on one dataset version, computed once and persisted.

A review stores its configuration, each component's result (JSON), per-component timings, and
two lake tables: reviews.r_ID_rows (one row per evaluated row: lake row id, truth, prediction,
score, error) and reviews.r_ID_shap (SHAP value per raw feature). Pages read these and never
recompute on a rerun; the live bits (a cohort's importance, one row's explanation, a tree with
other settings) are small SQL reads over them. With a Dask scheduler (`scheduler=` or ASSAY_DASK_SCHEDULER),
explanations and counterfactuals run in row chunks on the cluster (core.compute), with the same results.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from core.data import cohorts, datasets
from core import features, training
from core.lake import permissions
from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.names import quote_identifier as q
from core.progress import Progress, report
from core.analysis import explain as _explain
from core.review import _errors, _overview

COMPONENTS = ("overview", "explain", "errors", "fairness", "counterfactuals", "causal", "privacy", "checks")
DEFAULT_COMPONENTS = ("overview", "explain", "errors", "fairness")
INTERSECTION_LIMIT = 3  # sensitive columns crossed into intersections at most
PDP_FEATURES = 6


@dataclass(frozen=True)
class Review:
    review_id: str
    usecase: str
    run_id: str
    dataset_kind: str
    dataset_name: str
    dataset_version: int
    dataset_snapshot: int
    scope: str
    rows: int
    sensitive: list
    components: list
    config: dict
    timings: dict
    created_by: str
    created_at: datetime

    @property
    def dataset_ref(self) -> str:
        return f"{self.dataset_name}@{self.dataset_version}"

    @property
    def rows_table(self) -> str:
        return f'lake.reviews."r_{_safe(self.review_id)}_rows"'

    @property
    def shap_table(self) -> str:
        return f'lake.reviews."r_{_safe(self.review_id)}_shap"'

    def to_dict(self) -> dict:
        return {**self.__dict__, "created_at": self.created_at.isoformat(), "dataset": self.dataset_ref}


def _safe(review_id: str) -> str:
    if not review_id.replace("-", "").isalnum():
        raise InputError(f"{review_id!r} is not a review id.")
    return review_id.replace("-", "_")


def create(lake: Lake, *, run_id: str, actor: str, dataset: Optional[str] = None, scope: Optional[str] = None,
           sensitive: Optional[Sequence[str]] = None, components: Sequence[str] = DEFAULT_COMPONENTS, seed: int = 0,
           explain_rows: int = _explain.EXPLAIN_ROWS, cf_rows: int = 100, cf_count: int = 5,
           treatments: Sequence[str] = (), quasi: Sequence[str] = (), higher_is_better: Optional[bool] = None,
           progress: Optional[Progress] = None, scheduler: Optional[str] = None) -> Review:
    """Compute a review's components and persist them, in one transaction.

    counterfactuals: `cf_count` for each of `cf_rows` held-out rows (a seeded sample); causal: the
    effect of each of `treatments` on the run's target in the evaluated dataset; privacy: the
    personal-data scan, k-anonymity over `quasi` (l-diversity of the first sensitive column not in it) and
    membership inference against the model."""
    permissions.require(lake, actor, "review")
    _check_options(components, explain_rows, cf_rows, cf_count, treatments, higher_is_better)
    report(progress, 0.02, "Reading and scoring the evaluation rows")
    trained = training.open_run(lake, run_id)  # the model and its decision, loaded once for every component
    scored = training.score_run(lake, trained, dataset=dataset, scope=scope,
                                extra_columns=list(sensitive) if sensitive is not None else None)
    job = _Work(lake=lake, scored=scored, sensitive=list(scored.run.sensitive if sensitive is None else sensitive),
                 seed=seed, explain_rows=explain_rows, cf_rows=cf_rows, cf_count=cf_count, treatments=list(treatments),
                 quasi=list(quasi), higher_is_better=higher_is_better, progress=progress, scheduler=scheduler,
                 dataset=dataset)
    for component in COMPONENTS:  # in this order: errors reads the explain component's top features
        if component in components:
            started = time.perf_counter()
            job.results[component] = _RUNNERS[component](job)
            job.timings[component] = round(time.perf_counter() - started, 3)
    run, version, kind, scope, frame, rows = (scored.run, scored.version, scored.kind, scored.scope, scored.frame,
                                              scored.rows)
    sensitive, results, timings, shap_frame = job.sensitive, job.results, job.timings, job.shap_frame
    review_id = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:10]}"
    report(progress, 0.92, "Saving the review in the lake")
    config = {"seed": seed, "scope": scope, "algorithm": run.algorithm, "task": run.task, "target": run.target,
              "explain_rows": explain_rows, "cf_rows": cf_rows, "cf_count": cf_count, "treatments": list(treatments),
              "quasi": list(quasi), "higher_is_better": higher_is_better if "causal" in components else None,
              "threshold": trained.threshold}

    def work(cur) -> None:
        safe = _safe(review_id)
        cur.register("review_rows_frame", rows)
        cur.execute(f'CREATE TABLE lake.reviews."r_{safe}_rows" AS SELECT * FROM review_rows_frame')
        cur.unregister("review_rows_frame")
        if shap_frame is not None:
            cur.register("review_shap_frame", shap_frame)
            cur.execute(f'CREATE TABLE lake.reviews."r_{safe}_shap" AS SELECT * FROM review_shap_frame')
            cur.unregister("review_shap_frame")
        cur.execute("INSERT INTO lake.assay.reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())", [
            review_id, run.usecase, run.run_id, kind, version.name, version.version, version.snapshot, scope,
            len(frame), json.dumps(sensitive), json.dumps(list(components)), json.dumps(config), json.dumps(timings),
            actor])
        for component, result in results.items():
            cur.execute("INSERT INTO lake.assay.review_results VALUES (?, ?, ?)",
                        [review_id, component, json.dumps(_no_nan(result), default=_json, allow_nan=False)])

    lake.write(work, actor=actor, action="review", message=f"review {run.run_id}", tag=f"review:{review_id}")
    report(progress, 1.0, f"Review {review_id} ready")
    return get(lake, review_id)


def _check_options(components: Sequence[str], explain_rows, cf_rows, cf_count, treatments: Sequence[str],
                   higher_is_better) -> None:
    if not isinstance(explain_rows, int) or explain_rows < 100:
        raise InputError(f"Explain at least 100 rows, not {explain_rows!r}.")
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown or not components:
        raise InputError(f"Unknown component(s) {unknown}; choose from {', '.join(COMPONENTS)}.")
    if "causal" in components and not treatments:
        raise InputError("The causal component needs the treatment column(s): --treatments COL ...")
    if "causal" in components and not isinstance(higher_is_better, bool):
        raise InputError("The causal component needs the direction of the outcome (the run's target): say whether a "
                         "higher or a lower value is better (--higher-is-better or --lower-is-better); the policy follows it.")
    if "counterfactuals" in components and not (isinstance(cf_rows, int) and 1 <= cf_rows <= 10_000
                                                 and isinstance(cf_count, int) and 1 <= cf_count <= 50):
        raise InputError(f"Counterfactuals take 1 to 10,000 rows and 1 to 50 per row, not {cf_rows!r} and {cf_count!r}.")


@dataclass
class _Work:
    """A review being computed: its inputs, read and scored once and handed to every component, and what the
    components have produced so far (errors reads the explain component's top features)."""
    lake: Lake
    scored: training.Scored
    sensitive: list
    seed: int
    explain_rows: int
    cf_rows: int
    cf_count: int
    treatments: list
    quasi: list
    higher_is_better: Optional[bool]
    progress: Optional[Progress]
    scheduler: Optional[str] = None  # a Dask scheduler: explanations and counterfactuals in row chunks there
    dataset: Optional[str] = None  # the dataset version reviewed, when not the run's own input
    results: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    shap_frame: Optional[pd.DataFrame] = None

    run = property(lambda self: self.scored.run)
    frame = property(lambda self: self.scored.frame)
    rows = property(lambda self: self.scored.rows)
    classification = property(lambda self: self.scored.run.task in ("binary", "multiclass"))

    def report(self, fraction: float, message: str) -> None:
        report(self.progress, fraction, message)

    def within(self, start: float, width: float) -> Progress:
        """A component's progress, drawn within [start, start + width] of the review's."""
        return lambda f, m: report(self.progress, start + width * f, m)


def _overview_component(job: _Work) -> dict:
    run, frame, rows, seed = job.run, job.frame, job.rows, job.seed
    known = rows[rows["truth_label"].notna()]
    groups = {}
    for column in dict.fromkeys(job.sensitive + run.feature_names):
        groups[column] = _overview.by_feature(known, frame.loc[known.index, column], classification=job.classification,
                                              seed=seed)
    return {"overall": _overview.group_metrics(known, classification=job.classification, seed=seed),
            "by_feature": groups,
            "score_distribution": _overview.score_distribution(known) if run.task == "binary" else [],
            "confusion_matrix": _confusion(known, run) if job.classification else None}


def _explain_component(job: _Work) -> dict:
    run, frame, model, seed = job.run, job.frame, job.scored.model, job.seed
    X = frame[run.feature_names]
    job.report(0.15, "Explaining: SHAP values of the model")
    values, base, positions = _explain.shap_matrix(
        model, X, task=run.task, classes=run.classes, positive=run.positive, seed=seed, explain_rows=job.explain_rows,
        progress=job.within(0.15, 0.45), scheduler=job.scheduler)
    job.shap_frame = values.assign(__row_id=frame["__row_id"].to_numpy()[positions])
    importance = values.abs().mean().sort_values(ascending=False)
    top = list(importance.index[:PDP_FEATURES])
    job.report(0.62, "Partial dependence and ICE curves")
    return {
        "top_features": [{"feature": f, "mean_abs_shap": float(v)} for f, v in importance.items()],
        "base_value": base, "explained_rows": int(len(positions)), "of_rows": int(len(frame)),
        "output": "log-odds of the positive class" if run.task == "binary" and run.algorithm in ("logistic", "lightgbm", "hist_gb")
        else ("probability of the positive class" if run.task == "binary" else
              ("predicted class score" if run.task == "multiclass" else "predicted value")),
        "partial_dependence": _explain.partial_dependence_curves(
            model, X, top, categorical=[f["name"] for f in run.features if f["kind"] == "categorical"],
            task=run.task, classes=run.classes, positive=run.positive, seed=seed)}


def _errors_component(job: _Work) -> dict:
    run, frame, rows = job.run, job.frame, job.rows
    job.report(0.75, f"Error analysis on all {len(frame):,} rows")
    known = rows["truth_label"].notna().to_numpy()
    columns = list(dict.fromkeys(run.feature_names + job.sensitive))
    tree = _errors.error_tree(frame.loc[known, columns], rows.loc[known, "error"].to_numpy(dtype=float), columns,
                              regression=not job.classification, seed=job.seed)
    order = [t["feature"] for t in job.results.get("explain", {}).get("top_features", [])] or columns
    pair = [c for c in order if c in columns][:2]
    heat = _errors.heatmap(frame.loc[known], rows.loc[known, "error"].to_numpy(dtype=float), pair[0],
                           pair[1] if len(pair) > 1 else None)
    return {**tree, "cohorts": _errors.top_cohorts(tree), "heatmap_features": pair, "heatmap": heat.to_dict("records")}


def _fairness_component(job: _Work) -> dict:
    job.report(0.85, "Fairness by group")
    return _fairness(job.frame, job.rows, job.scored.trained, job.sensitive, job.seed)


def _counterfactuals_component(job: _Work) -> dict:
    return _counterfactuals(job.lake, job.scored.trained, job.cf_rows, job.cf_count, job.seed, job.within(0.86, 0.02),
                            job.scheduler)


def _causal_component(job: _Work) -> dict:
    from core.analysis import causal

    run, dataset = job.run, _dataset_ref(job.scored.version, job.scored.kind)
    return {"effects": [causal.analyse(job.lake, dataset, treatment=t, outcome=run.target, exclude=run.excluded,
                                       seed=job.seed, higher_is_better=job.higher_is_better,
                                       progress=job.within(0.88, 0.02)) for t in job.treatments]}


def _privacy_component(job: _Work) -> dict:
    from core.analysis import privacy

    job.report(0.9, "Privacy: personal data, k-anonymity, membership inference")
    quasi = job.quasi
    diverse, passed_over = privacy.l_diversity_column(job.sensitive, quasi) if quasi else (None, [])
    return privacy.assess(job.lake, _dataset_ref(job.scored.version, job.scored.kind), quasi=list(quasi),
                          sensitive=diverse, passed_over=passed_over, run_id=job.scored.trained, seed=job.seed)


def _checks_component(job: _Work) -> dict:
    """The validation suite (core.validation) on the same run, its model opened once."""
    from core import validation

    job.report(0.91, "Validation checks")
    return validation.run_checks(job.lake, job.scored.trained, dataset=job.dataset, sensitive=job.sensitive,
                                 seed=job.seed).to_dict()


# One runner per component, each timed alike by `create`.
_RUNNERS = {"overview": _overview_component, "explain": _explain_component, "errors": _errors_component,
            "fairness": _fairness_component, "counterfactuals": _counterfactuals_component,
            "causal": _causal_component, "privacy": _privacy_component, "checks": _checks_component}


def _dataset_ref(version, kind: str) -> str:
    if kind != "dataset":
        raise InputError("Causal and privacy components read a dataset; this run was trained on a feature set. "
                         "Review it on a dataset version (--dataset NAME@V) or use the Causal and Privacy pages.")
    return version.ref


def _counterfactuals(lake: Lake, trained: training.TrainedRun, rows: int, count: int, seed: int, progress,
                     scheduler: Optional[str] = None) -> dict:
    from core.analysis import counterfactuals

    run = trained.run
    if run.task == "multiclass":
        return {"rows": [], "note": "Counterfactuals in a review need a binary or regression model (a desired class "
                                    "must be named for a multiclass one: use the Counterfactuals page)."}
    if run.task in ("regression", "timeseries"):
        return {"rows": [], "note": "Counterfactuals of a regression need a desired range: use the Counterfactuals page."}
    held = trained.held_out_ids(lake)
    chosen = np.sort(np.random.default_rng(seed).choice(held, min(rows, len(held)), replace=False))
    return counterfactuals.for_run(lake, trained, row_ids=[int(v) for v in chosen], count=count, seed=seed,
                                   progress=progress, scheduler=scheduler)


def _fairness(frame: pd.DataFrame, rows: pd.DataFrame, trained: training.TrainedRun, sensitive: list, seed: int) -> dict:
    """Each sensitive column alone and, for two or three, their intersection: group metrics, disparities,
    the four-fifths rule and the summary at the run's decision threshold (binary), or errors by group
    (regression); plus the accuracy-disparity sweep across thresholds (binary)."""
    from core.analysis import fairness

    run = trained.run
    if not sensitive:
        return {"reports": [], "note": "No sensitive columns were named for this review."}
    if run.task == "multiclass":
        return {"reports": [], "note": "Fairness by group is computed for binary classifiers and regressions."}
    known = rows["truth_label"].notna().to_numpy()
    part, scored = frame.loc[known, sensitive].reset_index(drop=True), rows.loc[known]
    sets = [[c] for c in sensitive] + ([list(sensitive)] if 1 < len(sensitive) <= INTERSECTION_LIMIT else [])
    if run.task != "binary":
        return {"reports": [fairness.assess_regression(scored["truth_label"].to_numpy(), scored["score"].to_numpy(),
                                                       part[columns]) for columns in sets]}
    truth, score = scored["truth_positive"].to_numpy(), scored["score"].to_numpy()
    decided = trained.decide(score)
    reports = [fairness.assess(truth, decided, part[columns], score=score, positive=run.positive, seed=seed).to_dict()
               for columns in sets]
    scores = fairness.Scores(y_true=truth, score=score, sensitive=part[sensitive[:1]], positive=run.positive)
    return {"reports": reports, "threshold": trained.threshold, "sweep_by": sensitive[0],
            "sweep": fairness.threshold_sweep(scores).to_dict("records")}


def _confusion(rows: pd.DataFrame, run: training.Run) -> dict:
    labels = [str(c) for c in run.classes]
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(rows["truth_label"].astype(str), rows["predicted_label"].astype(str), labels=labels)
    return {"labels": labels, "matrix": matrix.tolist()}


def _no_nan(value):
    """NaN and infinities (an interval of a one-row group, say) become None: results are strict JSON."""
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _json(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return str(value)


_JSON = ("sensitive", "components", "config", "timings")


def get(lake: Lake, review_id: str) -> Review:
    found = lake.records("SELECT * FROM lake.assay.reviews WHERE review_id = ?", [str(review_id).strip()],
                         into=Review, json=_JSON)
    if not found:
        raise NotFoundError(f"No review {review_id!r}. `python -m core reviews` lists them.")
    return found[0]


def list_reviews(lake: Lake, *, usecase: Optional[str] = None, run_id: Optional[str] = None) -> list[Review]:
    sql, params = "SELECT * FROM lake.assay.reviews WHERE true", []
    if usecase:
        sql, params = sql + " AND usecase = ?", params + [usecase]
    if run_id:
        sql, params = sql + " AND run_id = ?", params + [run_id]
    return lake.records(sql + " ORDER BY created_at DESC", params, into=Review, json=_JSON)


def results(lake: Lake, review_id: str) -> dict:
    return {c: json.loads(r) for c, r in lake.query(
        "SELECT component, result FROM lake.assay.review_results WHERE review_id = ?", [review_id])}


def delete(lake: Lake, review_id: str, *, actor: str) -> None:
    review = get(lake, review_id)

    def work(cur) -> None:
        cur.execute(f"DROP TABLE IF EXISTS {review.rows_table}")
        cur.execute(f"DROP TABLE IF EXISTS {review.shap_table}")
        cur.execute("DELETE FROM lake.assay.review_results WHERE review_id = ?", [review_id])
        cur.execute("DELETE FROM lake.assay.reviews WHERE review_id = ?", [review_id])

    lake.write(work, actor=actor, action="delete", message=f"delete review {review_id}", tag=f"review-deleted:{review_id}")


def recompute(lake: Lake, review_id: str, *, actor: str, higher_is_better: Optional[bool] = None,
              progress: Optional[Progress] = None) -> Review:
    """The same review computed again (a new id; the old one is deleted once it is saved); `higher_is_better`:
    the outcome direction of a causal review saved before it was recorded."""
    old = get(lake, review_id)
    dataset = None if old.dataset_kind == "feature_set" else old.dataset_ref
    new = create(lake, run_id=old.run_id, actor=actor, dataset=dataset, scope=old.scope, sensitive=old.sensitive,
                 components=old.components, seed=old.config.get("seed", 0),
                 explain_rows=old.config.get("explain_rows", _explain.EXPLAIN_ROWS),
                 cf_rows=old.config.get("cf_rows", 100), cf_count=old.config.get("cf_count", 5),
                 treatments=old.config.get("treatments", []), quasi=old.config.get("quasi", []),
                 higher_is_better=old.config.get("higher_is_better", higher_is_better), progress=progress)
    delete(lake, review_id, actor=actor)
    return new


def evaluation_frame(lake: Lake, review: Review, columns: Sequence[str],
                     row_id: Optional[int] = None) -> pd.DataFrame:
    """The review's rows (truth, prediction, score, error) with the chosen dataset columns, by SQL join
    (only the row `row_id`, when given)."""
    version = (features.get(lake, review.dataset_ref) if review.dataset_kind == "feature_set"
               else datasets.get(lake, review.dataset_ref))
    picked = ", ".join(f"d.{q(c)}" for c in dict.fromkeys(columns))
    where, params = ("WHERE r.__row_id = ?", [int(row_id)]) if row_id is not None else ("", [])
    with lake.reading() as cur:
        return cur.execute(f"SELECT r.*{', ' + picked if picked else ''} FROM {review.rows_table} r "
                           f"JOIN (SELECT rowid AS __rid, * FROM {version.table_sql}) d ON d.__rid = r.__row_id "
                           f"{where} ORDER BY r.__row_id", params).df()


def explained_row_ids(lake: Lake, review: Review) -> tuple[int, int]:
    """Smallest and largest explained lake row id (for picking one row to explain), in SQL."""
    low, high = lake.query(f"SELECT min(__row_id), max(__row_id) FROM {review.shap_table}")[0]
    return int(low), int(high)


def cohort_importance(lake: Lake, review: Review, conditions: Sequence[cohorts.Condition]) -> pd.DataFrame:
    """Mean |SHAP| per feature over the rows of a cohort (and over all rows), for comparison."""
    run = training.get(lake, review.run_id)
    frame = evaluation_frame(lake, review, [c.column for c in conditions])
    where, params = cohorts.where_sql(conditions, list(frame.columns))
    with lake.reading() as cur:
        cur.register("cohort_rows", frame)
        ids = cur.execute(f"SELECT __row_id FROM cohort_rows WHERE {where}", params).df()["__row_id"]
        shap = cur.execute(f"SELECT * FROM {review.shap_table}").df()
        cur.unregister("cohort_rows")
    inside = shap[shap["__row_id"].isin(ids)]
    names = [f for f in run.feature_names if f in shap.columns]
    return pd.DataFrame({"feature": names, "cohort": inside[names].abs().mean().to_numpy(),
                         "all rows": shap[names].abs().mean().to_numpy(), "cohort_rows": len(inside)})


def local_explanation(lake: Lake, review: Review, row_id: int) -> pd.DataFrame:
    """One row: each feature's value and SHAP contribution, largest first."""
    run = training.get(lake, review.run_id)
    with lake.reading() as cur:
        shap = cur.execute(f"SELECT * FROM {review.shap_table} WHERE __row_id = ?", [int(row_id)]).df()
    if shap.empty:
        raise NotFoundError(f"Row {row_id} was not explained in this review.")
    values = evaluation_frame(lake, review, run.feature_names, row_id=int(row_id))
    out = pd.DataFrame({"feature": run.feature_names, "value": [values.iloc[0][f] for f in run.feature_names],
                        "shap": [float(shap.iloc[0][f]) for f in run.feature_names]})
    out["value"] = out["value"].astype(str)
    return out.reindex(out["shap"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def dependence(lake: Lake, review: Review, feature: str, *, sample: int = 5_000, seed: int = 0) -> pd.DataFrame:
    """A feature's value against its SHAP value (a random sample of rows, for plotting)."""
    frame = evaluation_frame(lake, review, [feature])
    with lake.reading() as cur:
        shap = cur.execute(f"SELECT __row_id, {q(feature)} AS shap FROM {review.shap_table}").df()
    joined = shap.merge(frame[["__row_id", feature]], on="__row_id").rename(columns={feature: "value"})
    return joined.sample(min(sample, len(joined)), random_state=seed) if len(joined) > sample else joined


def cohort_metrics(lake: Lake, review: Review, conditions: Sequence[cohorts.Condition], *, seed: int = 0) -> dict:
    """Metrics of a cohort's rows against all rows of the review."""
    frame = evaluation_frame(lake, review, [c.column for c in conditions])
    known = frame[frame["truth_label"].notna()]
    where, params = cohorts.where_sql(conditions, list(frame.columns))
    with lake.reading() as cur:
        cur.register("cohort_rows", known)
        inside = cur.execute(f"SELECT * FROM cohort_rows WHERE {where}", params).df()
        cur.unregister("cohort_rows")
    classification = review.config.get("task") in ("binary", "multiclass")
    return {"cohort": _overview.group_metrics(inside, classification=classification, seed=seed),
            "all": _overview.group_metrics(known, classification=classification, seed=seed)}


def error_tree_live(lake: Lake, review: Review, *, max_depth: int, max_leaf_nodes: int,
                    min_samples_leaf: Optional[int] = None) -> dict:
    """The error tree with other settings, fitted now on the review's persisted errors (all rows)."""
    run = training.get(lake, review.run_id)
    columns = list(dict.fromkeys(run.feature_names + review.sensitive))
    frame = evaluation_frame(lake, review, columns)
    frame = frame[frame["truth_label"].notna()]
    tree = _errors.error_tree(frame[columns], frame["error"].to_numpy(dtype=float), columns,
                              regression=run.task not in ("binary", "multiclass"), max_depth=max_depth,
                              max_leaf_nodes=max_leaf_nodes, min_samples_leaf=min_samples_leaf)
    return {**tree, "cohorts": _errors.top_cohorts(tree)}


def error_heatmap(lake: Lake, review: Review, first: str, second: Optional[str] = None, *, bins: int = 5) -> pd.DataFrame:
    """Error rate over one or two columns of the evaluation dataset."""
    frame = evaluation_frame(lake, review, [c for c in (first, second) if c])
    frame = frame[frame["truth_label"].notna()]
    return _errors.heatmap(frame, frame["error"].to_numpy(dtype=float), first, second, bins=bins)
