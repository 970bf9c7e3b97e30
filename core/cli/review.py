"""Commands that review a model: the review itself, and the analyses on their own (fairness, counterfactuals, causal, privacy)."""
from __future__ import annotations

import json

from core import review, training
from core.analysis import causal, counterfactuals, fairness, privacy
from core.cli._args import split, strict_json
from core.cli._context import Context
from core.errors import InputError


def cmd_review(ctx: Context, args) -> dict:
    if args.action == "show":
        if not args.review_id:
            raise InputError("Name the review: `python -m core review show REVIEW_ID`.")
        shown = review.get(ctx.lake, args.review_id)
        return {**shown.to_dict(), "components": review.results(ctx.lake, shown.review_id)}
    if args.action or args.review_id:
        raise InputError(f"Unknown review action {args.action!r}: use `review --run RUN_ID` or `review show REVIEW_ID`.")
    if not args.run:
        raise InputError("Name the model to review: --run RUN_ID (`python -m core runs` lists them).")
    components = [c.strip() for c in args.components.split(",") if c.strip()]
    made = review.create(ctx.lake, run_id=args.run, actor=ctx.actor, dataset=args.dataset, scope=args.scope,
                         sensitive=args.sensitive, components=components, explain_rows=args.explain_rows,
                         cf_rows=args.cf_rows, cf_count=args.cf_count, treatments=args.treatments or (),
                         quasi=args.quasi or (), higher_is_better=args.higher_is_better, progress=ctx.progress,
                         scheduler=args.scheduler)
    summary = _summary(review.typed_results(ctx.lake, made.review_id))
    checks = review.results(ctx.lake, made.review_id).get("checks")  # the validation suite (core.validation)
    if checks:
        summary["checks"] = {"counts": checks["counts"], "skipped": checks["skipped"],
                             "checks": [{k: c[k] for k in ("check", "category", "status", "severity", "summary")}
                                        for c in checks["checks"]]}
    return {"review_id": made.review_id, "run_id": made.run_id, "dataset": made.dataset_ref, "scope": made.scope,
            "rows": made.rows, "components": summary, "timings": made.timings}


def _summary(results: review.ReviewResults) -> dict:
    """What `review --run` prints of each component computed (the stored numbers; `review show` prints all)."""
    summary: dict = {}
    if results.explain:
        summary["explain"] = {"top_features": [f.to_dict() for f in results.explain.top_features],
                              "explained_rows": results.explain.explained_rows}
    if results.errors:
        summary["errors"] = {"overall_error_rate": results.errors.overall_error_rate,
                             "cohorts": [{"filter": c.filter, "error_rate": c.error_rate, "coverage": c.coverage,
                                          "rows": c.rows, "conditions": list(c.conditions)} for c in results.errors.cohorts]}
    if results.overview:
        summary["overview"] = {"overall": results.overview.overall.to_dict()}
    if results.fairness:
        fairness = results.fairness
        summary["fairness"] = {"reports": [{k: r.to_dict().get(k) for k in ("sensitive", "disparities", "four_fifths", "summary")}
                                           for r in fairness.reports],
                               **({"note": fairness.note} if "note" in fairness.keys else {})}
    if results.counterfactuals:
        found = results.counterfactuals.to_dict()
        summary["counterfactuals"] = {k: found.get(k) for k in ("counterfactuals", "rows_without", "feature_changes",
                                                                 "rows_per_second", "note") if k in found}
        summary["counterfactuals"]["rows"] = len(results.counterfactuals.rows)
    if results.causal:
        summary["causal"] = []
        for effect in results.causal.effects:
            entry = {k: effect.to_dict()[k] for k in ("treatment", "outcome", "method", "ate", "ci_low", "ci_high", "p_value",
                                                      "naive_difference", "overlap", "placebo", "warnings",
                                                      "higher_is_better", "policy")}
            entry["overlap"] = {k: v for k, v in entry["overlap"].items() if k != "histogram"}
            summary["causal"].append(entry)
    if results.privacy:
        summary["privacy"] = {k: v for k, v in results.privacy.to_dict().items() if k != "dataset"}
    return summary


def cmd_reviews(ctx: Context, args) -> dict:
    return {"reviews": [{"review_id": r.review_id, "run_id": r.run_id, "dataset": r.dataset_ref, "scope": r.scope,
                         "rows": r.rows, "components": r.components, "timings": r.timings,
                         "created_by": r.created_by, "created_at": r.created_at}
                        for r in review.list_reviews(ctx.lake, usecase=args.usecase, run_id=args.run)]}


def cmd_fairness(ctx: Context, args) -> dict:
    reference = None
    if args.reference:
        try:
            reference = strict_json(args.reference, "--reference")
        except json.JSONDecodeError:
            reference = None
        if not isinstance(reference, dict):
            raise InputError('--reference takes a JSON object, such as \'{"race_ethnicity": "Group A"}\'.')
    if args.run:
        if args.label or args.prediction or args.score:
            raise InputError("With --run the model makes the predictions: drop --label, --prediction and --score.")
        result = fairness.for_run(ctx.lake, args.run, sensitive=args.sensitive, dataset=args.dataset,
                                  threshold=training.decision_threshold(training.get(ctx.lake, args.run))
                                  if args.threshold is None else args.threshold, reference=reference,
                                  n_boot=args.bootstrap)
    else:
        if not args.dataset or not args.label:
            raise InputError("Audit mode needs --dataset NAME[@V] and --label COL (or --run RUN_ID for a model).")
        result = fairness.audit(ctx.lake, args.dataset, label=args.label, sensitive=args.sensitive,
                                prediction=args.prediction, score=args.score, threshold=args.threshold,
                                positive=args.positive, reference=reference, n_boot=args.bootstrap)
    return result.to_dict()


def cmd_counterfactuals(ctx: Context, args) -> dict:
    permitted = None
    if args.ranges:
        try:
            permitted = strict_json(args.ranges, "--ranges")
        except json.JSONDecodeError:
            permitted = None
        if not isinstance(permitted, dict):
            raise InputError('--ranges takes a JSON object, such as \'{"income": [20000, 90000]}\'.')
    return counterfactuals.for_run(
        ctx.lake, args.run, row_ids=split(args.rows) if args.rows else None, cohort=args.cohort, rows=args.first,
        count=args.count, vary=split(args.vary) if args.vary else None, permitted=permitted,
        desired_class=args.desired_class or "opposite", desired_range=args.range, method=args.method,
        seed=args.seed, progress=ctx.progress)


def cmd_causal(ctx: Context, args) -> dict:
    result = causal.analyse(ctx.lake, args.dataset, treatment=args.treatment, outcome=args.outcome,
                            confounders=args.confounders, heterogeneity=args.heterogeneity, method=args.method,
                            outcome_class=args.outcome_class, treated_value=args.treated, exclude=args.exclude or (),
                            treatment_cost=args.cost, higher_is_better=not args.lower_is_better, seed=args.seed,
                            progress=ctx.progress)
    result["overlap"] = {k: v for k, v in result["overlap"].items() if k != "histogram"}
    result["individual"] = {k: v for k, v in result["individual"].items() if k != "sample"}
    return result


def cmd_privacy(ctx: Context, args) -> dict:
    return privacy.assess(ctx.lake, args.dataset, quasi=args.quasi or (), sensitive=args.sensitive, k=args.k,
                          run_id=args.run)


def register(sub) -> None:
    p = sub.add_parser("review", help="review a model (--run RUN_ID), or show a review (show REVIEW_ID)")
    p.add_argument("action", nargs="?", metavar="show")
    p.add_argument("review_id", nargs="?")
    p.add_argument("--run", metavar="RUN_ID")
    p.add_argument("--dataset", metavar="NAME@V", help="evaluation dataset (default: the run's input)")
    p.add_argument("--scope", choices=["test", "all"], help="the run's held-out rows (default on its input) or all rows")
    p.add_argument("--sensitive", nargs="+", metavar="COL", help="default: the run's sensitive columns")
    p.add_argument("--components", default=",".join(review.DEFAULT_COMPONENTS),
                   help="comma-separated, from: " + ",".join(review.COMPONENTS))
    p.add_argument("--cf-rows", type=int, default=100, help="counterfactuals: held-out rows (a seeded sample)")
    p.add_argument("--cf-count", type=int, default=5, help="counterfactuals per row")
    p.add_argument("--treatments", nargs="+", metavar="COL", help="causal: treatment column(s); outcome: the target")
    p.add_argument("--quasi", nargs="+", metavar="COL", help="privacy: quasi-identifiers for k-anonymity")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", dest="higher_is_better", action="store_const", const=True,
                           help="causal (required with it): a higher outcome is the good one")
    direction.add_argument("--lower-is-better", dest="higher_is_better", action="store_const", const=False,
                           help="causal (required with it): a lower outcome is the good one (e.g. default)")
    p.add_argument("--explain-rows", type=int, default=100_000,
                   help="explain at most this many rows (a seeded sample above it); errors use every row")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a dask.distributed scheduler: explanations and counterfactuals "
                   "run in row chunks on its workers, every row explained by default (or ASSAY_DASK_SCHEDULER)")
    p.set_defaults(handler=cmd_review)

    p = sub.add_parser("reviews", help="list reviews")
    p.add_argument("--usecase")
    p.add_argument("--run", metavar="RUN_ID")
    p.set_defaults(handler=cmd_reviews)

    p = sub.add_parser("fairness", help="group metrics, disparities and the four-fifths rule (a model, or stored predictions)")
    p.add_argument("--run", metavar="RUN_ID", help="a binary model; default rows: its held-out rows")
    p.add_argument("--dataset", metavar="NAME[@V]")
    p.add_argument("--label", help="audit mode: the true outcome column")
    p.add_argument("--prediction", help="audit mode: the predicted class column")
    p.add_argument("--score", help="audit mode: a score column, with --threshold")
    p.add_argument("--threshold", type=float, help="a score at or above it is a positive prediction")
    p.add_argument("--positive", help="the positive label value (audit mode)")
    p.add_argument("--sensitive", nargs="+", required=True, metavar="COL")
    p.add_argument("--reference", help='reference group for the four-fifths rule, JSON: {"col": "value"}')
    p.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples for intervals (0: none)")
    p.set_defaults(handler=cmd_fairness)

    p = sub.add_parser("counterfactuals", help="the smallest changes that flip a model's decision, for chosen rows")
    p.add_argument("--run", metavar="RUN_ID", required=True)
    p.add_argument("--rows", metavar="ID,ID,...", help="lake row ids of the run's input (default: held-out rows)")
    p.add_argument("--cohort", help="a saved cohort's rows instead")
    p.add_argument("--first", type=int, default=20, help="how many rows without --rows (default 20)")
    p.add_argument("--count", type=int, default=5, help="counterfactuals per row")
    p.add_argument("--vary", metavar="COL,...", help="features allowed to change (default: all but age-, sex-, race-like)")
    p.add_argument("--ranges", help='permitted ranges, JSON: {"income": [20000, 90000], "region": ["north"]}')
    p.add_argument("--desired-class", help="default: the opposite class (binary)")
    p.add_argument("--range", nargs=2, type=float, metavar=("LOW", "HIGH"), help="regression: desired prediction range")
    p.add_argument("--method", default="random", choices=list(counterfactuals.METHODS))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_counterfactuals)

    p = sub.add_parser("causal", help="the effect of a treatment column on an outcome, with overlap and placebo checks")
    p.add_argument("--dataset", metavar="NAME[@V]", required=True)
    p.add_argument("--treatment", required=True, metavar="COL")
    p.add_argument("--outcome", required=True, metavar="COL")
    p.add_argument("--confounders", nargs="+", metavar="COL", help="default: every other usable column")
    p.add_argument("--heterogeneity", nargs="+", metavar="COL", help="default: up to 6 numeric confounders")
    p.add_argument("--exclude", nargs="+", metavar="COL", help="columns never to adjust for (ids, later outcomes)")
    p.add_argument("--method", default="linear", choices=list(causal.METHODS))
    p.add_argument("--outcome-class", help="a multiclass outcome: the class to analyse")
    p.add_argument("--treated", help="the treated value of a binary treatment (default: 1/yes/true or the second)")
    p.add_argument("--cost", type=float, default=0.0, help="treatment cost per row, in outcome units (policy)")
    p.add_argument("--lower-is-better", action="store_true", help="a lower outcome is the good one (e.g. default)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_causal)

    p = sub.add_parser("privacy", help="personal data, k-anonymity and l-diversity, membership inference")
    p.add_argument("--dataset", metavar="NAME[@V]", required=True)
    p.add_argument("--quasi", nargs="+", metavar="COL", help="quasi-identifiers for k-anonymity")
    p.add_argument("--sensitive", metavar="COL", help="for l-diversity (with --quasi)")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--run", metavar="RUN_ID", help="a model trained on it: membership-inference risk")
    p.set_defaults(handler=cmd_privacy)
