"""Error analysis on every evaluation row: a shallow decision tree fitted to the model's errors,
each node with its error rate, its share of all errors (coverage) and its filter path as cohort
conditions that select exactly the node's rows; and error-rate heat maps over one or two features."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from core.data.cohorts import Condition, describe

TOP_CATEGORIES = 30


def _design(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, list[dict]]:
    """Numbers for the tree, and what each column means: a number (missing filled with the median),
    'is missing' for a number with gaps, or 'equals this value' for a category."""
    data, meaning = {}, []
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numbers = values.astype(float)
            median = float(numbers.median()) if numbers.notna().any() else 0.0
            data[column] = numbers.fillna(median)
            meaning.append({"column": column, "kind": "number", "fill": median, "has_missing": bool(numbers.isna().any())})
            if numbers.isna().any():
                data[f"{column} is missing"] = numbers.isna().astype(float)
                meaning.append({"column": column, "kind": "missing"})
        else:
            text = values.astype("object")
            for value in text.value_counts().index[:TOP_CATEGORIES]:
                data[f"{column} = {value}"] = (text == value).astype(float).fillna(0.0)
                meaning.append({"column": column, "kind": "equals", "value": value})
            if text.isna().any():
                data[f"{column} is missing"] = text.isna().astype(float)
                meaning.append({"column": column, "kind": "missing"})
    return pd.DataFrame(data, index=frame.index), meaning


def _conditions(meaning: dict, threshold: float, left: bool) -> Condition:
    column = meaning["column"]
    if meaning["kind"] == "number":
        goes_with_missing = (meaning["fill"] <= threshold) == left
        return Condition(column, "<=" if left else ">", round(float(threshold), 6),
                         or_null=meaning["has_missing"] and goes_with_missing)
    if meaning["kind"] == "missing":
        return Condition(column, "is not null" if left else "is null")
    return Condition(column, "!=", meaning["value"], or_null=True) if left else Condition(column, "==", meaning["value"])


def error_tree(frame: pd.DataFrame, errors: np.ndarray, columns: list[str], *, regression: bool = False,
               max_depth: int = 3, max_leaf_nodes: int = 8, min_samples_leaf: Optional[int] = None,
               seed: int = 0) -> dict:
    """The tree as a list of nodes (root first): conditions, filter text, rows, errors, error rate, coverage."""
    if not 1 <= max_depth <= 8 or not 2 <= max_leaf_nodes <= 64:
        raise ValueError("depth must be 1 to 8 and leaves 2 to 64")
    X, meanings = _design(frame, columns)
    min_leaf = min_samples_leaf or max(20, len(frame) // 200)
    kind = DecisionTreeRegressor if regression else DecisionTreeClassifier
    tree = kind(max_depth=max_depth, max_leaf_nodes=max_leaf_nodes, min_samples_leaf=min_leaf, random_state=seed)
    tree.fit(X.to_numpy(), errors)
    structure = tree.tree_
    path = tree.decision_path(X.to_numpy())  # rows × nodes, 1 where the row passes the node
    node_rows = np.asarray(path.sum(axis=0)).ravel().astype(int)
    node_errors = np.asarray(path.T @ errors).ravel()
    total = float(errors.sum())
    nodes, stack = [], [(0, -1, [])]
    while stack:
        node, parent, conditions = stack.pop()
        is_leaf = structure.children_left[node] == -1
        nodes.append({"id": int(node), "parent": int(parent), "depth": len(conditions), "leaf": bool(is_leaf),
                      "conditions": [c.to_dict() for c in conditions], "filter": describe(conditions),
                      "rows": int(node_rows[node]), "errors": float(node_errors[node]),
                      "error_rate": float(node_errors[node] / node_rows[node]) if node_rows[node] else 0.0,
                      "coverage": float(node_errors[node] / total) if total else 0.0})
        if not is_leaf:
            meaning, threshold = meanings[structure.feature[node]], structure.threshold[node]
            stack.append((structure.children_right[node], node, conditions + [_conditions(meaning, threshold, False)]))
            stack.append((structure.children_left[node], node, conditions + [_conditions(meaning, threshold, True)]))
    nodes.sort(key=lambda n: n["id"])
    return {"overall_error_rate": float(errors.mean()), "total_errors": total, "rows": int(len(errors)),
            "regression": regression, "max_depth": max_depth, "max_leaf_nodes": max_leaf_nodes,
            "min_samples_leaf": int(min_leaf), "nodes": nodes}


def top_cohorts(tree: dict, count: int = 10) -> list[dict]:
    """Leaves by error rate (ties: more coverage first)."""
    leaves = [n for n in tree["nodes"] if n["leaf"]]
    leaves.sort(key=lambda n: (-n["error_rate"], -n["coverage"]))
    return [{"filter": n["filter"], "conditions": n["conditions"], "error_rate": n["error_rate"],
             "coverage": n["coverage"], "rows": n["rows"]} for n in leaves[:count]]


def _cells(values: pd.Series, bins: int) -> tuple[pd.Series, dict]:
    """A label per row and, per label, the cohort conditions that select exactly those rows."""
    column = values.name
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values) and values.nunique() > bins:
        edges = np.unique(np.nanquantile(values.astype(float), np.linspace(0, 1, bins + 1)))
        labels, conditions = pd.Series("(missing)", index=values.index, dtype=object), {"(missing)": [Condition(column, "is null")]}
        for i, (low, high) in enumerate(zip(edges[:-1], edges[1:])):
            inside = (values > low) & (values <= high) if i else (values <= high)
            label = f"{_num(low)} to {_num(high)}" if i else f"≤ {_num(high)}"
            labels[inside.fillna(False).to_numpy()] = label
            conditions[label] = ([Condition(column, ">", float(low))] if i else []) + [Condition(column, "<=", float(high))]
        return labels, conditions
    text = values.astype("object")
    top = [v for v in text.value_counts().index[:12]]
    labels = text.map(lambda v: "(missing)" if pd.isna(v) else (str(v) if v in top else "(other)"))
    conditions = {str(v): [Condition(column, "==", v.item() if hasattr(v, "item") else v)] for v in top}
    conditions["(missing)"] = [Condition(column, "is null")]
    if len(top) < text.nunique():
        conditions["(other)"] = [Condition(column, "not in", [v.item() if hasattr(v, "item") else v for v in top])]
    return labels, conditions


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 or float(value).is_integer() else f"{value:.4g}"


def heatmap(frame: pd.DataFrame, errors: np.ndarray, first: str, second: Optional[str] = None, *, bins: int = 5) -> pd.DataFrame:
    """Error rate over one or two features (numbers in quantile bins, categories by their top values);
    each cell carries the cohort conditions that select its rows."""
    labels, conditions = {}, {}
    for key, column in (("first", first), ("second", second)):
        if column:
            labels[key], conditions[key] = _cells(frame[column], bins)
    grouped = pd.DataFrame({**{k: v.to_numpy() for k, v in labels.items()}, "error": errors}).groupby(list(labels))["error"]
    out = grouped.agg(rows="size", errors="sum", error_rate="mean").reset_index()
    out["conditions"] = [[c.to_dict() for key in labels for c in conditions[key][row[key]]] for _, row in out.iterrows()]
    order = {key: list(conditions[key]) for key in labels}
    out = out.sort_values(list(labels), key=lambda s: s.map(lambda v: order[s.name].index(v) if v in order[s.name] else 99))
    return out.reset_index(drop=True)
