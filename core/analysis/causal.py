"""Causal analysis with econml: what a treatment does to an outcome, once confounders are accounted
for, and for whom. Every estimate carries its honesty checks: overlap (propensities), a placebo
treatment (a shuffled treatment must show no effect) and the naive difference in means.

Estimators: LinearDML and CausalForestDML (binary or continuous treatment) and LinearDRLearner (a
doubly robust learner, binary treatment), with LightGBM nuisance models cross-fitted in 3 folds.
Missing values are imputed (median, with a missing flag) and categories one-hot encoded; a
multiclass outcome is analysed as "is this class". Above MAX_ROWS rows a seeded sample is used,
and the result says so.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from core import compute
from core.data import datasets
from core.errors import InputError
from core.lake import Lake
from core.names import parse_dataset_ref
from core.progress import Progress, report

METHODS = {"linear": "LinearDML", "forest": "CausalForestDML", "dr": "LinearDRLearner (doubly robust)"}
MAX_ROWS = 50_000
EXTREME = 0.05  # propensities below this or above 1 - this are "near 0 or 1"
HETEROGENEITY_DEFAULT = 6
BINS = 5


@dataclass(frozen=True)
class Prepared:
    y: np.ndarray
    t: np.ndarray
    X: Optional[pd.DataFrame]   # heterogeneity features, encoded
    W: Optional[pd.DataFrame]   # other confounders, encoded
    raw: pd.DataFrame           # the rows as read (for effects by feature and cohort)
    binary: bool
    treated_value: Any
    outcome_class: Any
    heterogeneity: list[str]
    confounders: list[str]
    sampled_from: Optional[int]

    @property
    def Xn(self) -> Optional[np.ndarray]:
        return None if self.X is None else self.X.to_numpy(dtype=float)

    @property
    def Wn(self) -> Optional[np.ndarray]:
        return None if self.W is None else self.W.to_numpy(dtype=float)


def analyse(lake: Lake, dataset: str, *, treatment: str, outcome: str, confounders: Optional[Sequence[str]] = None,
            heterogeneity: Optional[Sequence[str]] = None, method: str = "linear", outcome_class: Any = None,
            treated_value: Any = None, exclude: Sequence[str] = (), treatment_cost: float = 0.0,
            higher_is_better: bool = True, seed: int = 0, progress: Optional[Progress] = None) -> dict:
    """The average effect with interval and p-value, heterogeneity, individual effects, a treatment
    policy, and the honesty checks, for `treatment` on `outcome` in a dataset version. The policy
    treats the rows whose effect moves the outcome the good way (`higher_is_better`, stored in the result)."""
    if not isinstance(higher_is_better, bool):
        raise InputError("Say which way the outcome is better: higher_is_better must be True or False, "
                         f"not {higher_is_better!r}.")
    if method not in METHODS:
        raise InputError(f"Unknown method {method!r}; choose linear, forest or dr.")
    version = datasets.get(lake, parse_dataset_ref(dataset))
    report(progress, 0.02, f"Reading {version.ref}")
    frame = datasets.read_frame(lake, version)
    started = time.perf_counter()
    data = prepare(frame, treatment=treatment, outcome=outcome, confounders=confounders, heterogeneity=heterogeneity,
                   outcome_class=outcome_class, treated_value=treated_value, exclude=exclude, seed=seed)
    if method == "dr" and not data.binary:
        raise InputError("The doubly robust learner needs a binary treatment; use linear or forest for "
                         f"a continuous one like {treatment!r}.")
    report(progress, 0.1, f"Fitting {METHODS[method]} and its placebo on {len(data.y):,} rows")
    estimator, placebo = _fit_both(method, data, seed)
    X = data.Xn
    inference = estimator.ate_inference(X=X) if X is not None else estimator.ate_inference()
    low, high = (float(v) for v in np.ravel(inference.conf_int_mean(alpha=0.05)))
    ate = float(np.ravel(inference.mean_point)[0])
    effects = np.ravel(estimator.effect(X)) if X is not None else np.full(len(data.y), ate)
    report(progress, 0.55, "Effects by feature and the treatment policy")
    result = {
        "dataset": version.ref, "treatment": treatment, "outcome": outcome, "method": method,
        "estimator": METHODS[method], "n": int(len(data.y)), "sampled_from": data.sampled_from,
        "binary_treatment": data.binary, "treated_value": _plain(data.treated_value),
        "outcome_class": _plain(data.outcome_class), "higher_is_better": bool(higher_is_better),
        "confounders": data.confounders, "heterogeneity": data.heterogeneity,
        "ate": ate, "ci_low": low, "ci_high": high, "p_value": float(np.ravel(inference.pvalue())[0]),
        "naive_difference": _naive(data),
        "by_feature": _by_feature(estimator, data, effects) if X is not None else [],
        "individual": _individual(effects, seed),
        "policy": _policy(estimator, data, effects, treatment_cost, higher_is_better, seed) if X is not None and data.binary else None,
    }
    report(progress, 0.7, "Overlap: how well treated and untreated rows resemble each other")
    result["overlap"] = _overlap(data, seed, estimator)
    result["placebo"] = placebo
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["warnings"] = _warnings(result)
    report(progress, 1.0, "Causal analysis ready")
    return result


def prepare(frame: pd.DataFrame, *, treatment: str, outcome: str, confounders: Optional[Sequence[str]] = None,
            heterogeneity: Optional[Sequence[str]] = None, outcome_class: Any = None, treated_value: Any = None,
            exclude: Sequence[str] = (), seed: int = 0) -> Prepared:
    for column, role in ((treatment, "treatment"), (outcome, "outcome")):
        if column not in frame.columns:
            raise InputError(f"The {role} column {column!r} is not in the data; it has {', '.join(frame.columns[:30])}.")
    if treatment == outcome:
        raise InputError("The treatment and the outcome must be different columns.")
    frame = frame[frame[treatment].notna() & frame[outcome].notna()]
    sampled_from = None
    if len(frame) > MAX_ROWS:
        sampled_from = len(frame)
        frame = frame.sample(MAX_ROWS, random_state=seed)
    frame = frame.reset_index(drop=True)
    if len(frame) < 50:
        raise InputError(f"Only {len(frame)} rows have both {treatment!r} and {outcome!r}; causal estimates need more.")
    if confounders is None:
        confounders = [c for c in frame.columns if c not in (treatment, outcome, *exclude) and _usable(frame[c])]
    confounders = list(dict.fromkeys(confounders))
    unknown = [c for c in confounders + list(heterogeneity or []) if c not in frame.columns]
    if unknown:
        raise InputError(f"No column(s) {unknown}; the data has {', '.join(frame.columns[:30])}.")
    heterogeneity = list(dict.fromkeys(heterogeneity if heterogeneity is not None else
                                       _default_heterogeneity(frame, confounders)))
    if treatment in confounders + heterogeneity or outcome in confounders + heterogeneity:
        raise InputError("The treatment and the outcome cannot also be confounders or heterogeneity features.")
    t, binary, treated = _treatment(frame[treatment], treated_value)
    y, chosen = _outcome(frame[outcome], outcome_class)
    others = [c for c in confounders if c not in heterogeneity]
    return Prepared(y=y, t=t, X=_encode(frame[heterogeneity]) if heterogeneity else None,
                    W=_encode(frame[others]) if others else None, raw=frame, binary=binary, treated_value=treated,
                    outcome_class=chosen, heterogeneity=heterogeneity, confounders=confounders,
                    sampled_from=sampled_from)


def _usable(values: pd.Series) -> bool:
    """A column worth adjusting for: not an identifier, not free text, not a timestamp."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return not (pd.api.types.is_integer_dtype(values) and values.nunique() == len(values) and len(values) > 100)
    return values.nunique() <= 50


def _default_heterogeneity(frame: pd.DataFrame, confounders: list[str]) -> list[str]:
    numeric = [c for c in confounders if pd.api.types.is_numeric_dtype(frame[c]) and frame[c].nunique() > 2]
    return numeric[:HETEROGENEITY_DEFAULT]


def _treatment(values: pd.Series, treated_value: Any) -> tuple[np.ndarray, bool, Any]:
    distinct = pd.unique(values.astype(str))
    if len(distinct) == 2:
        ordered = sorted(distinct, key=lambda v: (v not in ("0", "False", "false", "no", "0.0"), v))
        treated = str(treated_value) if treated_value is not None else ordered[1]
        if treated not in distinct:
            raise InputError(f"The treatment never takes the value {treated_value!r}; it has {sorted(distinct)}.")
        return (values.astype(str) == treated).to_numpy(dtype=float), True, treated
    if len(distinct) < 2:
        raise InputError("The treatment has a single value: every row was treated alike, so there is nothing to compare.")
    if not pd.api.types.is_numeric_dtype(values):
        raise InputError(f"The treatment must be binary or numeric; it has {len(distinct)} text values. "
                         "Pick one value as the treatment with --treated VALUE after making it binary.")
    return values.to_numpy(dtype=float), False, None


def _outcome(values: pd.Series, outcome_class: Any) -> tuple[np.ndarray, Any]:
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float), True
    if pd.api.types.is_numeric_dtype(values) and outcome_class is None:
        return values.to_numpy(dtype=float), None
    distinct = sorted(pd.unique(values.astype(str)))
    if outcome_class is None:
        if len(distinct) == 2:
            outcome_class = distinct[1]
        else:
            raise InputError(f"The outcome has {len(distinct)} classes; name the one to analyse with --outcome-class "
                             f"(one of {distinct[:10]}).")
    if str(outcome_class) not in distinct:
        raise InputError(f"The outcome never takes the value {outcome_class!r}; it has {distinct[:10]}.")
    return (values.astype(str) == str(outcome_class)).to_numpy(dtype=float), outcome_class


def _encode(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers with median imputation and a missing flag; categories one-hot (missing is a category)."""
    parts = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numbers = values.astype(float)
            if numbers.isna().any():
                parts[f"{column}__missing"] = numbers.isna().astype(float)
            parts[column] = numbers.fillna(numbers.median() if numbers.notna().any() else 0.0)
        else:
            text = values.astype(object).where(values.notna(), "(missing)").astype(str)
            for level in sorted(pd.unique(text))[1:]:  # the first level is the baseline
                parts[f"{column}={level}"] = (text == level).astype(float)
    return pd.DataFrame(parts, index=frame.index)


def _nuisance(classifier: bool, seed: int, threads: Optional[int] = None):
    """The LightGBM nuisance model; its threads follow core.compute (never -1: jobs would thrash)."""
    from lightgbm import LGBMClassifier, LGBMRegressor

    kind = LGBMClassifier if classifier else LGBMRegressor
    return kind(n_estimators=150, learning_rate=0.05, num_leaves=15, min_child_samples=20, random_state=seed,
                verbose=-1, n_jobs=threads or compute.threads())


def _fit_both(method: str, data: Prepared, seed: int) -> tuple[Any, dict]:
    """The estimate and its placebo (the same estimator on a shuffled treatment), fitted side by side:
    two fits of one thread each keep two cores busy where one fit's threads mostly wait on each other."""
    threads = compute.threads()
    if threads < 2:
        with compute.limit(1):
            return _fit(method, data, seed), _placebo(method, data, seed)
    from concurrent.futures import ThreadPoolExecutor

    share = max(1, threads // 2)

    def limited(call, *args):
        with compute.limit(share):
            return call(*args)

    with ThreadPoolExecutor(max_workers=2) as pool:
        main = pool.submit(limited, _fit, method, data, seed)
        placebo = pool.submit(limited, _placebo, method, data, seed)
        return main.result(), placebo.result()


def _fit(method: str, data: Prepared, seed: int, t: Optional[np.ndarray] = None):
    from econml.dml import CausalForestDML, LinearDML
    from econml.dr import LinearDRLearner

    t = data.t if t is None else t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "dr":
            estimator = LinearDRLearner(model_propensity=_nuisance(True, seed), model_regression=_nuisance(False, seed),
                                        cv=3, random_state=seed)
            estimator.fit(data.y, t.astype(int), X=data.Xn, W=data.Wn)
            return estimator
        common = dict(model_y=_nuisance(False, seed), model_t=_nuisance(data.binary, seed),
                      discrete_treatment=data.binary, cv=3, random_state=seed)
        if method == "linear":
            estimator = LinearDML(**common)
        else:
            estimator = CausalForestDML(**common, n_estimators=200, min_samples_leaf=20, max_depth=None)
        estimator.fit(data.y, t.astype(int) if data.binary else t, X=data.Xn, W=data.Wn, cache_values=True,
                      **({"inference": "auto"} if method == "forest" else {}))
    return estimator


def _naive(data: Prepared) -> float:
    if data.binary:
        return float(data.y[data.t == 1].mean() - data.y[data.t == 0].mean())
    slope = np.polyfit(data.t, data.y, 1)[0]
    return float(slope)


def _by_feature(estimator, data: Prepared, effects: np.ndarray) -> list[dict]:
    """The average effect within bins of each heterogeneity feature (quintiles, or categories), with
    the estimator's interval for that bin."""
    out = []
    for feature in data.heterogeneity:
        values = data.raw[feature]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > BINS:
            bins = pd.qcut(values, BINS, duplicates="drop")
            names = {b: f"{_short(b.left)} to {_short(b.right)}" for b in bins.cat.categories}
            labels = bins.map(names).astype(object).where(values.notna(), "(missing)")
        else:
            labels = values.astype(object).where(values.notna(), "(missing)").astype(str)
        rows = []
        for label in pd.unique(labels):
            mask = (labels == label).to_numpy()
            if mask.sum() < 10:
                continue
            low, high = _interval(estimator, data.Xn[mask])
            rows.append({"bin": str(label), "rows": int(mask.sum()), "effect": float(effects[mask].mean()),
                         "ci_low": low, "ci_high": high,
                         "order": float(values[mask].astype(float).median()) if pd.api.types.is_numeric_dtype(values)
                         and values[mask].notna().any() else None})
        rows.sort(key=lambda r: (r["order"] is None, r["order"] if r["order"] is not None else 0, r["bin"]))
        out.append({"feature": feature, "bins": rows})
    return out


def _short(number: float) -> str:
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.4g}"


def _interval(estimator, X: np.ndarray) -> tuple[Optional[float], Optional[float]]:
    try:
        low, high = estimator.ate_interval(X=X, alpha=0.05)
        return float(np.ravel(low)[0]), float(np.ravel(high)[0])
    except Exception:  # some estimators give no interval on a subset
        return None, None


def _individual(effects: np.ndarray, seed: int, keep: int = 2_000) -> dict:
    quantiles = np.percentile(effects, [5, 25, 50, 75, 95])
    rng = np.random.default_rng(seed)
    sample = effects if len(effects) <= keep else effects[rng.choice(len(effects), keep, replace=False)]
    return {"quantiles": dict(zip(["p5", "p25", "p50", "p75", "p95"], (float(q) for q in quantiles))),
            "std": float(effects.std()), "sample": [float(v) for v in sample]}


def _policy(estimator, data: Prepared, effects: np.ndarray, cost: float, higher_is_better: bool, seed: int) -> dict:
    """Who should be treated: econml's policy tree on the estimated effects (gain = effect in the
    good direction minus the cost), and the expected gain per row against treating everyone or no one."""
    from econml.cate_interpreter import SingleTreePolicyInterpreter

    sign = 1.0 if higher_is_better else -1.0
    interpreter = SingleTreePolicyInterpreter(max_depth=2, min_samples_leaf=max(20, len(effects) // 50),
                                              random_state=seed)
    if not higher_is_better:
        estimator = _Flipped(estimator)
    interpreter.interpret(estimator, data.Xn, sample_treatment_costs=cost)
    treat = np.asarray(interpreter.treat(data.Xn)).astype(bool).ravel()
    gain = sign * effects - cost
    rules = _tree_rules(interpreter, list(data.X.columns))
    return {"treatment_cost": cost, "higher_is_better": higher_is_better, "treated_share": float(treat.mean()),
            "gain_policy": float(np.where(treat, gain, 0.0).mean()), "gain_treat_all": float(gain.mean()),
            "gain_treat_none": 0.0, "rules": rules}


class _Flipped:
    """An estimator whose effects point the other way (when a lower outcome is better)."""

    def __init__(self, estimator):
        self._estimator = estimator

    def const_marginal_effect(self, X):
        return -np.asarray(self._estimator.const_marginal_effect(X))

    def __getattr__(self, name):
        return getattr(self._estimator, name)


def _tree_rules(interpreter, names: list[str]) -> list[dict]:
    tree = interpreter.tree_model_.tree_
    rules = []

    def walk(node: int, path: list[str]) -> None:
        if tree.children_left[node] == -1:
            value = np.ravel(tree.value[node])
            rules.append({"when": " and ".join(path) or "everyone", "rows": int(tree.n_node_samples[node]),
                          "treat": bool(np.argmax(value) == 1) if len(value) > 1 else bool(value[0] > 0)})
            return
        name, threshold = names[tree.feature[node]], tree.threshold[node]
        if name.endswith("__missing"):
            left, right = f"{name[:-9]} is known", f"{name[:-9]} is missing"
        elif "=" in name:  # a one-hot column: 0 or 1
            column, level = name.split("=", 1)
            left, right = f"{column} is not {level}", f"{column} is {level}"
        else:
            left, right = f"{name} <= {threshold:.4g}", f"{name} > {threshold:.4g}"
        walk(tree.children_left[node], path + [left])
        walk(tree.children_right[node], path + [right])

    walk(0, [])
    return rules


def _overlap(data: Prepared, seed: int, estimator=None) -> dict:
    """Binary treatment: cross-fitted propensities, their distribution per group, and the share near 0 or 1.
    Continuous: how much of the treatment the confounders explain (R^2): little left over means little
    independent variation to learn from. The DML estimators already cross-fitted the treatment model:
    its predictions (the treatment minus its residual) are used rather than fitting it again."""
    from sklearn.model_selection import cross_val_predict

    fitted = _treatment_predictions(estimator, data)
    features = pd.concat([f for f in (data.X, data.W) if f is not None], axis=1) if (data.X is not None or data.W is not None) else None
    if features is None:
        return {"kind": "none", "note": "No confounders: nothing to check."}
    if data.binary:
        propensity = fitted if fitted is not None else cross_val_predict(
            _nuisance(True, seed), features, data.t.astype(int), cv=3, method="predict_proba")[:, 1]
        extreme = (propensity < EXTREME) | (propensity > 1 - EXTREME)
        edges = np.linspace(0, 1, 21)
        histogram = [{"group": "treated" if g else "untreated", "low": float(lo), "high": float(hi),
                      "rows": int(((propensity >= lo) & (propensity < hi if hi < 1 else propensity <= hi) & (data.t == g)).sum())}
                     for g in (1, 0) for lo, hi in zip(edges[:-1], edges[1:])]
        return {"kind": "propensity", "extreme_share": float(extreme.mean()), "extreme_rows": int(extreme.sum()),
                "threshold": EXTREME, "min": float(propensity.min()), "max": float(propensity.max()),
                "histogram": histogram, "ok": bool(extreme.mean() < 0.05)}
    predicted = fitted if fitted is not None else cross_val_predict(_nuisance(False, seed), features, data.t, cv=3)
    r2 = 1 - np.sum((data.t - predicted) ** 2) / max(np.sum((data.t - data.t.mean()) ** 2), 1e-12)
    return {"kind": "continuous", "r2_of_treatment": float(r2), "ok": bool(r2 < 0.9)}


def _treatment_predictions(estimator, data: Prepared) -> Optional[np.ndarray]:
    """The cross-fitted treatment model's predictions from a DML fit (None when not at hand, or if econml
    returned its cached rows in another order than given)."""
    if estimator is None or not hasattr(estimator, "residuals_"):
        return None
    _, t_residual, X, W = estimator.residuals_
    same = all(a is None and b is None or (a is not None and b is not None and np.array_equal(a, b))
               for a, b in ((X, data.Xn), (W, data.Wn)))
    t_residual = np.asarray(t_residual, dtype=float).reshape(len(data.t), -1)
    return data.t - t_residual[:, 0] if same and t_residual.shape[1] == 1 else None


def _placebo(method: str, data: Prepared, seed: int) -> dict:
    """The same estimator with the treatment shuffled: its effect should be near zero (interval covering it)."""
    shuffled = np.random.default_rng(seed + 1).permutation(data.t)
    estimator = _fit("linear" if method == "forest" else method, data, seed, t=shuffled)
    inference = estimator.ate_inference(X=data.Xn) if data.X is not None else estimator.ate_inference()
    low, high = (float(v) for v in np.ravel(inference.conf_int_mean(alpha=0.05)))
    effect = float(np.ravel(inference.mean_point)[0])
    return {"effect": effect, "ci_low": low, "ci_high": high, "passed": bool(low <= 0 <= high),
            "estimator": METHODS["linear" if method == "forest" else method]}


def _warnings(result: dict) -> list[str]:
    out = []
    overlap = result["overlap"]
    if overlap.get("kind") == "propensity" and not overlap["ok"]:
        out.append(f"{overlap['extreme_share']:.1%} of rows have a propensity below {EXTREME} or above {1 - EXTREME}: "
                   "treated and untreated rows there are hardly comparable, so the estimate leans on extrapolation.")
    if overlap.get("kind") == "continuous" and not overlap["ok"]:
        out.append(f"The confounders explain {overlap['r2_of_treatment']:.0%} of the treatment's variation: little "
                   "independent variation is left to estimate its effect from.")
    if not result["placebo"]["passed"]:
        out.append("A shuffled (placebo) treatment shows an effect whose interval excludes zero: the estimate may be "
                   "picking up structure that is not the treatment's.")
    if result["sampled_from"]:
        out.append(f"Estimated on a seeded sample of {result['n']:,} of {result['sampled_from']:,} rows.")
    return out


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
