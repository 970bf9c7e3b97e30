"""Train: choose an input, target, problem type, sensitive columns, split and algorithms; every
run is tracked in the lake, and results appear as each model finishes."""
import streamlit as st

from core.data import datasets
from core import features, training
from ui import state

state.ensure_app_shell()
st.title("Train")
lake, usecase = state.lake(), state.usecase()
kind = st.segmented_control("Input", ["Dataset", "Feature set"], default="Dataset", key="train_kind", required=True)
source = datasets.latest(lake, usecase=usecase) if kind == "Dataset" else features.latest(lake, usecase=usecase)
if not source:
    st.info(f"Use case **{usecase}** has no {kind.lower()}s yet.")
    st.stop()
left, right = st.columns([3, 1])
name = left.selectbox(kind, [v.name for v in source], key=f"train_source_{kind}")
history = datasets.versions(lake, name) if kind == "Dataset" else features.versions(lake, name)
number = right.selectbox("Version", [v.version for v in history], key=f"train_version_{kind}_{name}",
                         format_func=lambda n: f"v{n}")
chosen = next(v for v in history if v.version == number)
columns = chosen.column_names
default_target = getattr(chosen, "label", None) or ("defaulted" if "defaulted" in columns else columns[-1])

a, b, c = st.columns(3)
target = a.selectbox("Target", columns, index=columns.index(default_target), key=f"train_target_{name}")
task = b.selectbox("Problem type", ["auto", "binary", "multiclass", "regression", "timeseries"], key="train_task")
positive = c.text_input("Positive class (binary)", key="train_positive", placeholder="auto: 1, true, or the rarer class")
others = [col for col in columns if col != target]
sensitive = st.multiselect("Sensitive columns (kept out of the model, kept for the review)", others,
                           default=training.suggest_sensitive(others), key=f"train_sensitive_{name}")
exclude = st.multiselect("Also exclude", [col for col in others if col not in sensitive], key=f"train_exclude_{name}")
d, e, f = st.columns(3)
share = d.segmented_control("Test share", ["30%", "20%", "custom"], default="30%", key="train_share", required=True)
test_size = {"30%": 0.3, "20%": 0.2}.get(share) or e.slider("Custom test share", 0.05, 0.5, 0.25, key="train_custom")
method = f.selectbox("Split", ["random (stratified)", "time-ordered"], key="train_split")
time_column = None
if method == "time-ordered":
    times = [col.name for col in chosen.columns if col.type.upper().startswith(("DATE", "TIMESTAMP"))]
    time_column = e.selectbox("Time column", times, key=f"train_time_{name}") if times else None
algorithms = st.multiselect("Algorithms", list(training.ALGORITHMS), default=["logistic", "lightgbm"],
                            format_func=training.ALGORITHMS.get, key="train_algorithms")
g, h, k = st.columns(3)
seed = g.number_input("Seed", 0, 2**31 - 1, 42, key="train_seed")
threshold = k.number_input("Decision threshold (binary)", 0.01, 0.99, 0.5, step=0.05, key="train_threshold")
budget = h.number_input("Hyperparameter search budget, seconds (0: defaults)", 0, 3600, 0, step=10, key="train_budget",
                        help="Shared by the algorithms; candidates are scored on the validation fold.")

if not state.can("train"):
    st.caption(f"Your role ({state.role()}) may not train models; ask an admin for the analyst role.")
if st.button("Train", type="primary", key="train_go", disabled=not algorithms or not state.can("train")):
    finished = st.empty()
    done: list = []

    def show(run: training.Run) -> None:
        done.append({"algorithm": run.algorithm, "run": run.run_id, **{k: v for k, v in run.metrics.items()
                                                                        if isinstance(v, (int, float))}})
        finished.dataframe(done, hide_index=True)

    result = state.run_with_status(
        "Training…", lambda progress: training.train(
            lake, target=target, actor=state.actor(), task=None if task == "auto" else task,
            algorithms=algorithms, test_size=test_size, split_method="time" if time_column else "random",
            time_column=time_column, sensitive=sensitive, exclude=exclude, positive=positive or None, seed=int(seed),
            usecase=usecase, progress=progress, on_run=show, search_seconds=float(budget), threshold=float(threshold),
            **({"dataset": chosen.ref} if kind == "Dataset" else {"feature_set": chosen.ref})),
        lambda r: f"Trained {len(r.runs)} model(s); best by {r.primary_metric}: {r.best_run_id}")
    if result:
        for warning in result.warnings:
            st.warning(warning)
        best = next(r for r in result.runs if r.run_id == result.best_run_id)
        st.success(f"Best by {result.primary_metric}: **{best.algorithm}** "
                   f"({best.metrics[result.primary_metric]:.4f}), run `{best.run_id}`. Compare every run on the Compare page.")
        st.session_state["compare_batch"] = [r.run_id for r in result.runs]
