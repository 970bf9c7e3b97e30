"""Retraining: the model's training spec run again on the newest version of its input, reviewed,
registered as challenger, and put through the gate against the champion."""
from __future__ import annotations

from typing import Optional

from core.data import datasets
from core import features, review, training
from core.lake import permissions
from core.governance import registry
from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.progress import Progress, report

TUNABLE = ("C", "alpha", "n_estimators", "learning_rate", "num_leaves", "max_leaf_nodes", "max_iter", "min_samples_leaf",
           "max_depth", "min_child_samples", "max_features", "subsample", "colsample_bytree")


def retrain(lake: Lake, name: str, *, actor: str, dataset: Optional[str] = None,
            progress: Optional[Progress] = None) -> dict:
    permissions.require(lake, actor, "retrain")
    try:
        current = registry.get(lake, f"{name}@champion")
    except NotFoundError:
        versions = registry.versions(lake, name) if registry.model_exists(lake, name) else []
        if not versions:
            raise NotFoundError(f"No registered model {name!r}. `python -m core models` lists them.") from None
        current = versions[-1]
    run = training.get(lake, current.run_id)
    if run.params.get("base_run"):
        raise InputError(f"{current.ref} is a fairness-mitigated model; retrain its base and mitigate again.")
    if dataset:
        source = {"dataset": dataset}
    elif run.input_kind == "feature_set":
        source = {"feature_set": features.versions(lake, run.input_name)[0].ref}
    else:
        source = {"dataset": datasets.get(lake, run.input_name).ref}  # NAME alone: its newest version
    params = {run.algorithm: {k: run.params[k] for k in TUNABLE if k in run.params}}
    if run.algorithm == "lightgbm":
        params[run.algorithm].pop("n_estimators", None)  # early stopping picks the rounds again
    split = run.split or {}
    report(progress, 0.05, f"Retraining {run.algorithm} on {next(iter(source.values()))}")
    trained = training.train(lake, target=run.target, actor=actor, task=run.task, algorithms=[run.algorithm],
                             test_size=split.get("test_size", 0.3), split_method=split.get("method", "random"),
                             time_column=split.get("time_column"), sensitive=run.sensitive,
                             exclude=[c for c in run.excluded if c != run.target], positive=run.positive,
                             seed=split.get("seed", 42), params=params, usecase=run.usecase,
                             **({"threshold": current.threshold} if run.task == "binary" else {}),  # the rule in service
                             progress=lambda f, m: report(progress, 0.05 + 0.5 * f, m), **source)
    new_run = trained.runs[0]
    report(progress, 0.6, "Reviewing the retrained model")
    made = review.create(lake, run_id=new_run.run_id, actor=actor, progress=lambda f, m: report(progress, 0.6 + 0.3 * f, m))
    report(progress, 0.92, "Registering it as challenger and running the gate")
    version = registry.register(lake, new_run.run_id, name=name, actor=actor, alias="challenger", review_id=made.review_id)
    report(progress, 1.0, f"{version.ref}: gate {version.gate['status']}")
    return {"run_id": new_run.run_id, "review_id": made.review_id, "model": version.ref, "trained_on": new_run.input_ref,
            "previous": current.ref, "gate": version.gate}
