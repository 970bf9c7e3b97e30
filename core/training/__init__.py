"""Training, experiment tracking and model comparison."""
from core.training._data import MAX_CLASSES, Problem, define_problem, split, suggest_sensitive
from core.training._pipelines import ALGORITHMS, FrameCleaner, build_pipeline
from core.training._runs import ArtifactError, Run, curves, get, list_runs, load_model
from core.training._train import PRIMARY, TrainResult, best_of, resolve_input, train

__all__ = ["ALGORITHMS", "ArtifactError", "FrameCleaner", "MAX_CLASSES", "PRIMARY", "Problem", "Run", "TrainResult",
           "best_of", "build_pipeline", "curves", "define_problem", "get", "list_runs", "load_model", "resolve_input",
           "split", "suggest_sensitive", "train"]
