"""Training, experiment tracking and model comparison.

One owner of a trained run: `open_run` hands out a `TrainedRun` (the run, its model loaded and hash-checked
once, its decision threshold, its held-out rows); `score_run` applies it to its evaluation rows. The metric
functions, the artifact store and the mitigated model types are public here so that mitigation (core.analysis)
records its runs exactly as `train` does.
"""
from core.training._describe import algorithm_name, describe_run
from core.training._data import MAX_CLASSES, Problem, define_problem, split, suggest_sensitive
from core.training._metrics import (classification_curves, classification_metrics, json_ready, regression_curves,
                                    regression_metrics)
from core.training._mitigated import MITIGATED_THRESHOLD, GroupThresholdModel, MixtureModel, WeightedFit, group_keys
from core.training._pipelines import ALGORITHMS, FrameCleaner, build_pipeline
from core.training._runs import (TRUSTED_TYPES, ArtifactError, Run, code_version, curves, get, list_runs, load_model,
                                 model_from_bytes, save_artifact)
from core.training._runs import read as read_run
from core.training._runs import record as record_run
from core.training._held_out import held_out_filter, held_out_ids
from core.training._trained import (MITIGATED_ALGORITHMS, TrainedRun, check_threshold, decision_rule,
                                    decision_threshold, open_run)
from core.training._scored import Scored, evaluation_source, score_run
from core.training._train import PRIMARY, TrainRequest, TrainResult, best_of, resolve_input, train

__all__ = ["ALGORITHMS", "ArtifactError", "FrameCleaner", "GroupThresholdModel", "MAX_CLASSES", "MITIGATED_ALGORITHMS",
           "MITIGATED_THRESHOLD", "MixtureModel", "PRIMARY", "Problem", "Run", "Scored", "TRUSTED_TYPES", "TrainRequest", "TrainResult",
           "TrainedRun", "WeightedFit", "best_of", "build_pipeline", "check_threshold", "classification_curves",
           "classification_metrics", "code_version", "curves", "decision_rule", "decision_threshold", "define_problem",
           "evaluation_source", "get", "group_keys", "held_out_filter", "held_out_ids", "json_ready", "list_runs",
           "load_model", "model_from_bytes", "open_run", "read_run", "record_run", "regression_curves",
           "regression_metrics", "resolve_input", "save_artifact", "score_run", "split", "suggest_sensitive", "train"]
__all__ += ["algorithm_name", "describe_run"]
