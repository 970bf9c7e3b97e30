"""Operations: batch scoring with a registered model (jobs and their metrics), drift of each batch
against the training data with its trend, and retraining when drift or performance says so."""
import pandas as pd
import streamlit as st

from core import training
from core.data import datasets
from core.operations import drift, retrain, scoring
from core.governance import registry
from ui import charts, state

state.ensure_app_shell()
st.title("Scoring & monitoring")
lake, usecase = state.lake(), state.usecase()
models = registry.list_models(lake, usecase=usecase)
if not models:
    st.info(f"No registered models in **{usecase}** yet: register one on the Model registry page.")
    st.stop()
names = [m["name"] for m in models]
a, b = st.columns(2)
name = a.selectbox("Model", names, key="ops_model")
aliases = sorted(next(m for m in models if m["name"] == name)["aliases"]) or []
refs = [f"{name}@{alias}" for alias in aliases] + [f"{name}@{v.version}" for v in registry.versions(lake, name)]
# The model in service first: the champion when there is one.
model_ref = b.selectbox("Version or alias", refs, key=f"ops_ref_{name}",
                        index=refs.index(f"{name}@champion") if f"{name}@champion" in refs else 0)
scored_jobs = scoring.jobs(lake, usecase=usecase, model=name)  # newest first


def batch_picker(key: str):
    """A dataset of the use case, opening on the newest batch this model scored (else the newest dataset that is
    not its training data): monitoring compares new data with the training rows, never those rows with themselves."""
    available = datasets.latest(lake, usecase=usecase)
    if not available:
        st.info(f"Use case **{usecase}** has no datasets yet: ingest one on the Datasets page.")
        st.stop()
    names = [v.name for v in available]
    trained_on = training.get(lake, registry.get(lake, model_ref).run_id).input_name
    newest = [j.input.partition("@")[0] for j in scored_jobs if j.input.partition("@")[0] in names]
    others = sorted((v for v in available if v.name != trained_on), key=lambda v: v.created_at, reverse=True)
    default = newest[0] if newest else (others[0].name if others else names[0])
    return datasets.get(lake, st.selectbox("Dataset (batch)", names, index=names.index(default), key=key))

score_tab, drift_tab, jobs_tab = st.tabs(["Score a batch", "Drift and retraining", "Jobs"])
with score_tab:
    batch = batch_picker("ops_score_dataset")
    c, d = st.columns(2)
    engine = c.selectbox("Engine", scoring.ENGINES, key="ops_engine",
                         help="embedded: DuckDB in this process, streaming; dask: dask.distributed (a local cluster here)")
    if d.button("Score", type="primary", key="ops_score_go", disabled=not state.can("score")):
        job = state.run_with_status(
            "Scoring…", lambda progress: scoring.score(lake, model_ref, dataset=batch.ref, actor=state.actor(),
                                                      engine=engine, progress=progress),
            lambda j: f"Job {j.job_id}: {j.scored:,} rows scored, {j.rejected:,} rejected, {j.rows_per_second:,.0f} rows/s")
        if job:
            st.session_state["ops_last_job"] = job.to_dict()
    last = st.session_state.get("ops_last_job")
    if last:
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Rows", f"{last['rows']:,}")
        m2.metric("Rejected", f"{last['rejected']:,}")
        m3.metric("Rows per second", f"{last['rows_per_second'] or 0:,.0f}")
        m4.metric("Output", last["output"] or "none")
        if last["reasons"]:
            st.dataframe(pd.DataFrame({"reason": list(last["reasons"]), "rows": list(last["reasons"].values())}),
                         hide_index=True)
with drift_tab:
    batch = batch_picker("ops_drift_dataset")
    c, d = st.columns(2)
    method = c.selectbox("Tests", drift.METHODS, key="ops_drift_method",
                         format_func={"auto": "Evidently's defaults", "psi": "PSI"}.get)
    share = d.slider("Dataset drift when this share of features drift", 0.1, 1.0, 0.5, 0.05, key="ops_drift_share")
    if st.button("Check drift", type="primary", key="ops_drift_go", disabled=not state.can("monitor")):
        with st.spinner("Comparing with the training data…"), state.user_errors():
            st.session_state["ops_drift"] = drift.report(lake, model_ref, dataset=batch.ref, actor=state.actor(),
                                                         method=method, drift_share=share)
    report = st.session_state.get("ops_drift")
    if report:
        p = report["prediction_drift"]
        drifted = f"{len(report['drifted_features'])} of {len(report['features'])} features drifted " \
                  f"({', '.join(report['drifted_features']) or 'none'})"
        if report["retrain_recommended"]:
            st.warning(f"Retraining is recommended: {'; '.join(report['reasons'])}.")
        elif p["drifted"]:  # never "no retraining needed" beside drifted predictions
            st.warning(f"The model's predictions drifted, although only {drifted}, below the share that recommends "
                       "retraining. Look at the drifted features below and at the performance once labels arrive.")
        else:
            st.success(f"{drifted}; predictions are stable: no retraining needed.")
        st.markdown(f"**Prediction drift**: {p['test']} {p['value']:.3f} (threshold {p['threshold']}) — "
                    + ("drifted." if p["drifted"] else "stable."))
        if report["performance"]:
            perf = report["performance"]
            st.markdown(f"**Performance** on {perf['rows_with_labels']:,} labelled rows: "
                        + ", ".join(f"{k} {v:.3f}" for k, v in perf["current"].items() if k in ("roc_auc", "accuracy", "rmse"))
                        + (f"; {perf['primary_metric']} changed by {-perf['drop']:+.3f} from the held-out figure."
                           if perf.get("drop") is not None else "."))
        st.altair_chart(charts.drift_features(pd.DataFrame(report["features"]).drop(columns="distribution",
                                                                                     errors="ignore")))
        shown = [f for f in report["features"] if f["drifted"]]
        if shown and not any(f.get("distribution") for f in shown):
            st.caption("This report was made before distributions were kept: check drift again to compare them.")
        for feature in shown:
            if feature.get("distribution"):
                st.altair_chart(charts.distribution_compared(feature["distribution"], feature["feature"]))
    history = drift.reports(lake, model=name)
    if len(history) > 1:
        trend = pd.DataFrame([{"created_at": h["created_at"], "batch": h["current"], "drift_share": h["drift_share"],
                               "prediction_drift": h["prediction_drift"]["value"]} for h in history])
        st.altair_chart(charts.drift_trend(trend))
    if st.button(f"Retrain {name} on its newest data", key="ops_retrain_go", disabled=not state.can("retrain")):
        state.run_with_status("Retraining…", lambda progress: retrain.retrain(lake, name, actor=state.actor(),
                                                                              progress=progress),
                              lambda r: f"{r['model']} registered as challenger: gate {r['gate']['status']}")
with jobs_tab:
    done = scored_jobs
    if done:
        st.dataframe(pd.DataFrame([{k: v for k, v in j.to_dict().items() if k not in ("usecase", "reasons")} for j in done]),
                     hide_index=True)
    else:
        st.info("No jobs yet for this model.")
