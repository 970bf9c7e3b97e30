"""Training, experiment tracking and model comparison."""
from core.training._describe import algorithm_name, describe_run
from core.training._data import MAX_CLASSES, Problem, define_problem, split, suggest_sensitive
from core.training._pipelines import ALGORITHMS, FrameCleaner, build_pipeline
from core.training._runs import ArtifactError, Run, curves, get, list_runs, load_model, model_from_bytes
from core.training._runs import read as read_run
from core.training._trained import (MITIGATED_ALGORITHMS, TrainedRun, check_threshold, decision_rule,
                                    decision_threshold, held_out_filter, held_out_ids, open_run)
from core.training._scored import Scored, evaluation_source, score_run
from core.training._train import PRIMARY, TrainResult, best_of, resolve_input, train

__all__ = ["ALGORITHMS", "ArtifactError", "FrameCleaner", "MAX_CLASSES", "MITIGATED_ALGORITHMS", "PRIMARY", "Problem",
           "Run", "Scored", "TrainResult", "TrainedRun", "best_of", "build_pipeline", "check_threshold", "curves",
           "decision_rule", "decision_threshold", "define_problem", "evaluation_source", "get", "held_out_filter", "held_out_ids",
           "list_runs", "load_model", "model_from_bytes", "open_run", "read_run", "resolve_input", "score_run", "split",
           "suggest_sensitive", "train"]
__all__ += ["algorithm_name", "describe_run"]
