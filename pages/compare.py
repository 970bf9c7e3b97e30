"""Compare runs side by side: metrics, overlaid ROC / PR / calibration curves, confusion matrices;
pick the best by a chosen metric. Earlier runs stay: change features or algorithm and run again."""
import pandas as pd
import streamlit as st

from core import training
from ui import charts, state

state.ensure_app_shell()
st.title("Compare runs")
lake, usecase = state.lake(), state.usecase()
runs = training.list_runs(lake, usecase=usecase)
if not runs:
    st.info(f"No training runs in **{usecase}** yet.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()
by_id = {r.run_id: r for r in runs}
label = lambda run_id: (f"{by_id[run_id].algorithm} · {by_id[run_id].input_ref} → {by_id[run_id].target} · "
                        f"{by_id[run_id].created_at:%m-%d %H:%M} · {run_id}")
default = [r for r in st.session_state.get("compare_batch", []) if r in by_id] or [r.run_id for r in runs[:4]]
chosen = [by_id[r] for r in st.multiselect("Runs", list(by_id), default=default, format_func=label, key="compare_runs")]
if not chosen:
    st.stop()
if len({r.task for r in chosen}) > 1:
    st.warning("These runs solve different problem types; only runs of one type can be compared.")
    st.stop()
numeric = sorted({k for r in chosen for k, v in r.metrics.items() if isinstance(v, (int, float)) and k != "threshold"})
primary = training.PRIMARY[chosen[0].task][0]
metric = st.selectbox("Best by", numeric, index=numeric.index(primary) if primary in numeric else 0, key="compare_metric")
best = training.best_of(chosen, metric)
st.success(f"Best by {metric}: **{best.algorithm}** on {best.input_ref} ({best.metrics[metric]:.4f}), run `{best.run_id}`")

table = pd.DataFrame({f"{r.algorithm} · {r.run_id[-6:]}": {m: r.metrics.get(m) for m in numeric} for r in chosen})
lower = {"rmse", "mae", "mape", "log_loss", "brier"}
st.dataframe(table.style.format("{:.4f}", na_rep="–").apply(charts.mark_best(lower), axis=1))
curves = training.curves(lake, [r.run_id for r in chosen])
names = {r.run_id: f"{r.algorithm} · {r.run_id[-6:]}" for r in chosen}
curves["run"] = curves["run_id"].map(names)
kinds = ["roc", "pr", "calibration"] if chosen[0].task == "binary" else (
    ["residuals", "calibration"] if chosen[0].task in ("regression", "timeseries") else ["roc", "pr"])
for tab, kind in zip(st.tabs([charts.CURVE_TITLES[k] for k in kinds]), kinds):
    with tab:
        st.altair_chart(charts.run_curve(curves[curves.curve == kind], kind))
with st.expander("Confusion matrices, warnings and run details"):
    for run in chosen:
        st.markdown(f"**{names[run.run_id]}**: {run.input_kind} `{run.input_ref}` (snapshot {run.input_snapshot}), "
                    f"{run.train_rows:,} train / {run.test_rows:,} test rows, {run.duration_seconds:.1f} s, "
                    f"code `{run.code_version[:12]}`, artifact sha256 `{run.artifact_sha256[:16]}…`")
        if "confusion_matrix" in run.metrics:
            st.dataframe(charts.confusion_table(run.metrics["confusion_matrix"], run.classes, run.positive))
        for warning in run.warnings:
            st.caption(f"⚠ {warning}")
        st.json({"params": run.params, "split": run.split, "features": run.feature_names, "sensitive": run.sensitive,
                 "excluded": run.excluded}, expanded=False)
