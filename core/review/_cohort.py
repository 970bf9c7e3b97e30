"""A review seen through one cohort: the rows a person can pick (explained rows, with the entity id
and the columns people know), and every component's numbers recomputed live on the cohort's rows
(overview metrics, error tree and heat map, SHAP importance and dependence, fairness scores,
partial dependence). With no conditions each function covers all of the review's rows, so a page
calls the same function whether or not a cohort is chosen."""
from __future__ import annotations

import hashlib
import re
from typing import Optional, Sequence

import pandas as pd

from core import training
from core.analysis import explain as _explain
from core.data import cohorts
from core.data.cohorts import Condition
from core.errors import InputError
from core.names import quote_identifier, suggest_name
from core.review import _errors, _overview
from core.review._store import Review, _confusion, evaluation_frame, results

ROW_LIMIT = 1_000  # rows offered in a picking table; a cohort narrows them
KNOWN_FEATURES = 4  # the model's most important features shown beside the entity id


def cohort_frame(lake, review: Review, columns: Sequence[str], conditions: Sequence[Condition] = ()) -> pd.DataFrame:
    """The review's evaluated rows (truth, prediction, score, error) with `columns`, only those in the cohort."""
    frame = evaluation_frame(lake, review, list(dict.fromkeys([*columns, *(c.column for c in conditions)])))
    if not conditions:
        return frame
    where, params = cohorts.where_sql(conditions, list(frame.columns))
    with lake.reading() as cur:
        cur.register("cohort_rows", frame)
        ids = cur.execute(f"SELECT __row_id FROM cohort_rows WHERE {where}", params).df()["__row_id"]
        cur.unregister("cohort_rows")
    return frame[frame["__row_id"].isin(ids)].reset_index(drop=True)


def entity_columns(run: training.Run) -> list[str]:
    """The identifier columns a person knows a row by (kept out of the model): applicant_id, id, ..."""
    return [c for c in run.excluded if re.search(r"(^|_)(id|key|number|no)$", c.lower())]


def explained_rows(lake, review: Review, conditions: Sequence[Condition] = (), *,
                   limit: int = ROW_LIMIT) -> tuple[pd.DataFrame, int]:
    """Rows of the review that have a stored explanation (in the cohort), to pick one by clicking:
    `row` (the lake row id), the entity id, the outcome, the prediction and score, the sensitive
    columns and the model's most important features. Returns (at most `limit` rows, how many there are)."""
    if "explain" not in review.components:
        raise InputError(f"Review {review.review_id} explained no rows (it has no explain component); "
                         "compute a review with it on the Reviews page.")
    run = training.get(lake, review.run_id)
    with lake.reading() as cur:
        explained = cur.execute(f"SELECT __row_id FROM {review.shap_table}").df()["__row_id"]
    top = [f["feature"] for f in results(lake, review.review_id).get("explain", {}).get("top_features", [])]
    known = list(dict.fromkeys(entity_columns(run) + review.sensitive + top[:KNOWN_FEATURES]))
    frame = cohort_frame(lake, review, known, conditions)
    frame = frame[frame["__row_id"].isin(explained)]
    shown = frame.head(limit)
    out = pd.DataFrame({"row": shown["__row_id"].astype(int).to_numpy()})
    for column in entity_columns(run):
        out[column] = shown[column].to_numpy()
    out[f"{run.target} (true)"] = shown["truth_label"].to_numpy()
    out[f"predicted {run.target}"] = shown["predicted_label"].to_numpy()
    if run.task == "binary":
        out[f"probability {run.target} = {run.positive}"] = shown["score"].round(4).to_numpy()
    for column in known:
        if column not in out:
            out[column] = shown[column].to_numpy()
    out.attrs.update(entity=entity_columns(run), target=run.target, task=run.task, positive=run.positive)
    return out, int(len(frame))


def row_outcome(row: pd.Series, rows: pd.DataFrame) -> str:
    """One picked row's outcome in words: 'predicted defaulted = 1 (probability 41.2%); actually 0'."""
    target, positive = rows.attrs["target"], rows.attrs.get("positive")
    text = f"predicted **{target} = {row[f'predicted {target}']}**"
    score = f"probability {target} = {positive}"
    if score in row:
        text += f" (probability of {target} = {positive}: {row[score]:.1%})"
    return text + f"; actually {target} = {row[f'{target} (true)']}."


def overview(lake, review: Review, conditions: Sequence[Condition] = (), *, seed: int = 0) -> dict:
    """The overview component (overall metrics with intervals, by feature, confusion matrix, scores)
    computed now on the cohort's rows, in the stored component's shape."""
    run = training.get(lake, review.run_id)
    columns = list(dict.fromkeys(review.sensitive + run.feature_names))
    frame = cohort_frame(lake, review, columns, conditions)
    known = frame[frame["truth_label"].notna()]
    if known.empty:
        raise InputError("The cohort has no evaluated rows with a known outcome in this review; choose another cohort.")
    classification = run.task in ("binary", "multiclass")
    return {"overall": _overview.group_metrics(known, classification=classification, seed=seed),
            "by_feature": {c: _overview.by_feature(known, known[c], classification=classification, seed=seed)
                           for c in columns},
            "score_distribution": _overview.score_distribution(known) if run.task == "binary" else [],
            "confusion_matrix": _confusion(known, run) if classification else None}


def error_tree(lake, review: Review, conditions: Sequence[Condition] = (), *, max_depth: int, max_leaf_nodes: int,
               min_samples_leaf: Optional[int] = None) -> dict:
    """The error tree fitted now on the cohort's rows; each node's conditions include the cohort's, so
    a node is a cohort of the whole dataset."""
    run = training.get(lake, review.run_id)
    columns = list(dict.fromkeys(run.feature_names + review.sensitive))
    frame = _known(cohort_frame(lake, review, columns, conditions))
    tree = _errors.error_tree(frame[columns], frame["error"].to_numpy(dtype=float), columns,
                              regression=run.task not in ("binary", "multiclass"), max_depth=max_depth,
                              max_leaf_nodes=max_leaf_nodes, min_samples_leaf=min_samples_leaf)
    prefix = [c.to_dict() for c in conditions]
    for node in tree["nodes"]:
        node["conditions"] = prefix + node["conditions"]
        node["filter"] = cohorts.describe(cohorts.conditions_from(node["conditions"]))
    return {**tree, "cohorts": _errors.top_cohorts(tree)}


def error_heatmap(lake, review: Review, first: str, second: Optional[str] = None,
                  conditions: Sequence[Condition] = (), *, bins: int = 5) -> pd.DataFrame:
    """Error rate over one or two columns on the cohort's rows; each cell's conditions include the cohort's."""
    frame = _known(cohort_frame(lake, review, [c for c in (first, second) if c], conditions))
    heat = _errors.heatmap(frame, frame["error"].to_numpy(dtype=float), first, second, bins=bins)
    prefix = [c.to_dict() for c in conditions]
    heat["conditions"] = [prefix + cell for cell in heat["conditions"]]
    return heat


def _known(frame: pd.DataFrame) -> pd.DataFrame:
    known = frame[frame["truth_label"].notna()]
    if known.empty:
        raise InputError("The cohort has no evaluated rows with a known outcome in this review; choose another cohort.")
    return known


def importance(lake, review: Review, conditions: Sequence[Condition] = ()) -> pd.DataFrame:
    """Mean |SHAP| per feature over the cohort's explained rows (all explained rows without a cohort)."""
    run = training.get(lake, review.run_id)
    ids = cohort_frame(lake, review, [], conditions)["__row_id"]
    with lake.reading() as cur:
        shap = cur.execute(f"SELECT * FROM {review.shap_table}").df()
    inside = shap[shap["__row_id"].isin(ids)]
    names = [f for f in run.feature_names if f in shap.columns]
    out = pd.DataFrame({"feature": names, "mean_abs_shap": inside[names].abs().mean().to_numpy()})
    return out.sort_values("mean_abs_shap", ascending=False).reset_index(drop=True).assign(rows=len(inside))


def dependence(lake, review: Review, feature: str, conditions: Sequence[Condition] = (), *, sample: int = 5_000,
               seed: int = 0) -> pd.DataFrame:
    """A feature's value against its SHAP value on the cohort's explained rows (a sample for plotting)."""
    frame = cohort_frame(lake, review, [feature], conditions)
    with lake.reading() as cur:
        shap = cur.execute(f"SELECT __row_id, {quote_identifier(feature)} AS shap FROM {review.shap_table}").df()
    joined = shap.merge(frame[["__row_id", feature]], on="__row_id").rename(columns={feature: "value"})
    return joined.sample(min(sample, len(joined)), random_state=seed) if len(joined) > sample else joined


def scores(lake, review: Review, sensitive: Sequence[str], conditions: Sequence[Condition] = ()):
    """The review's scores with truth and sensitive columns on the cohort's rows (fairness.Scores),
    for group metrics and threshold sweeps of the cohort."""
    from core.analysis import fairness

    run = training.get(lake, review.run_id)
    if run.task != "binary":
        raise InputError(f"Fairness by group needs a binary classifier; run {run.run_id} is {run.task}.")
    known = _known(cohort_frame(lake, review, list(sensitive), conditions))
    return fairness.Scores(y_true=known["truth_positive"].to_numpy(), score=known["score"].to_numpy(),
                           sensitive=known[list(sensitive)].reset_index(drop=True), positive=run.positive)


def partial_dependence(lake, review: Review, features: Sequence[str], conditions: Sequence[Condition] = (), *,
                       seed: int = 0) -> list[dict]:
    """Partial dependence and ICE curves of `features` computed now with the run's model over the
    cohort's rows (for features a stored review has no curve of, or a cohort)."""
    trained = training.open_run(lake, review.run_id)
    run = trained.run
    frame = cohort_frame(lake, review, run.feature_names, conditions)
    if frame.empty:
        raise InputError("The cohort has no rows in this review; choose another cohort.")
    return _explain.partial_dependence_curves(
        trained.model, frame[run.feature_names], list(features),
        categorical=[f["name"] for f in run.features if f["kind"] == "categorical"], task=run.task,
        classes=run.classes, positive=run.positive, seed=seed)


NAME_LENGTH = 26  # fits the sidebar's cohort box whole


def cohort_name(conditions: Sequence[Condition]) -> str:
    """A short, readable cohort name from its filter (the whole filter is shown beside it): the filter
    itself when short (employment == 'student' -> employment_student), else its last condition (what a
    tree node or heat-map cell adds) and a digest of the whole filter, so two filters never share a name
    (... and years_employed > 4.25 -> years_employed_gt_4_0fa121)."""
    def slug(part: Sequence[Condition]) -> str:
        return suggest_name(cohorts.describe(part).replace("<=", " le ").replace(">=", " ge ").replace("<", " lt ")
                            .replace(">", " gt ").replace("!=", " not ").replace("(or missing)", "or_missing"))

    whole = slug(conditions)
    if len(whole) <= NAME_LENGTH:
        return whole
    digest = hashlib.sha1(cohorts.describe(conditions).encode()).hexdigest()[:6]
    return f"{slug(conditions[-1:])[:NAME_LENGTH - 7].rstrip('_')}_{digest}"
