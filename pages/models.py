"""Model registry: register a run (the gate runs against the champion), see each version's gate,
sign-offs and card, sign off, promote, and download the scorecard."""
import json

import pandas as pd
import streamlit as st

from core.governance import accounts, registry, scorecard
from core import review, training
from ui import charts, state
from ui.review_picker import run_label

state.ensure_app_shell()
st.title("Model registry")
lake, usecase = state.lake(), state.usecase()
runs = training.list_runs(lake, usecase=usecase)
models = registry.list_models(lake, usecase=usecase)

with st.expander("Register a model version", expanded=not models):
    if not runs:
        st.info(f"No trained models in **{usecase}** yet.")
    else:
        by_id = {r.run_id: r for r in runs}
        run = by_id[st.selectbox("Run", list(by_id), key="register_run",
                                 format_func=lambda r: run_label(by_id[r]))]
        a, b, c = st.columns(3)
        names = [m["name"] for m in models]
        name = a.selectbox("Model", names + ["(new model)"], key="register_name") if names else "(new model)"
        if name == "(new model)":
            name = a.text_input("New model name", key="register_new_name", placeholder="credit_default")
        alias = b.text_input("Alias for the new version", "challenger", key="register_alias")
        reviews = review.list_reviews(lake, run_id=run.run_id)
        chosen_review = c.selectbox("Review", [r.review_id for r in reviews] or [None], key=f"register_review_{run.run_id}",
                                    format_func=lambda r: r or "no review yet")
        description = st.text_input("Purpose (for the card)", key="register_description")
        if st.button("Register", type="primary", key="register_go", disabled=not name or not state.can("register")):
            made = state.run_with_status(
                "Registering and running the gate…",
                lambda progress: registry.register(lake, run.run_id, name=name, actor=state.actor(), alias=alias or None,
                                                   review_id=chosen_review, description=description),
                lambda v: f"Registered {v.ref}: gate {v.gate['status']}")
            if made:
                st.session_state["registry_model"] = made.name
                st.session_state["registry_version"] = made.version
                models = registry.list_models(lake, usecase=usecase)

if not models:
    st.info(f"No registered models in **{usecase}** yet.")
    st.stop()
st.dataframe(pd.DataFrame([{"model": m["name"], "task": m["task"], "versions": m["versions"],
                            "aliases": ", ".join(f"{a} → v{v}" for a, v in m["aliases"].items()),
                            "owners": ", ".join(m["owners"]), "created by": m["created_by"]} for m in models]),
             hide_index=True)
names = [m["name"] for m in models]
linked = st.query_params.get("model", "")
if "@" in linked and st.session_state.get("_model_link_used") != linked:  # ?model=NAME@VERSION opens that version
    st.session_state["_model_link_used"] = linked
    link_name, _, link_version = linked.partition("@")
    if link_name in names and link_version.isdigit():
        st.session_state["registry_model"], st.session_state["registry_version"] = link_name, int(link_version)
        st.session_state.pop("registry_model_pick", None)
        st.session_state.pop(f"registry_version_pick_{link_name}", None)
default = names.index(st.session_state["registry_model"]) if st.session_state.get("registry_model") in names else 0
name = st.selectbox("Model", names, index=default, key="registry_model_pick")
all_versions = registry.versions(lake, name)
numbers = [v.version for v in all_versions]
wanted = st.session_state.get("registry_version")
version = all_versions[numbers.index(wanted) if wanted in numbers else len(numbers) - 1]
version = all_versions[numbers.index(st.selectbox("Version", numbers, index=numbers.index(version.version),
                                                 key=f"registry_version_pick_{name}",
                                                 format_func=lambda n: f"v{n} " + " ".join(
                                                     f"[{a}]" for a in all_versions[numbers.index(n)].aliases)))]
st.query_params["model"] = st.session_state["_model_link_used"] = version.ref  # the URL names this version
status = registry.approval_status(lake, version.ref)
blocking = status["open_must_fix"]
if blocking:  # an open must-fix decision is shown where the decision to ship is made
    st.error(f"**{'Approved' if status['approved'] else 'Not approved'}, but {len(blocking)} must-fix action"
             f"{'s' if len(blocking) > 1 else ''} open** (from the review meeting): "
             f"{registry.describe_must_fix(blocking, limit=5)}. Close them on the Review meeting page before "
             f"{version.ref} is approved or promoted.", icon=":material/report:")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Gate", version.gate.get("status", "?"))
m2.metric("Sign-off", "approved" if status["approved"] else "pending", delta=f"{len(blocking)} must-fix open" if blocking
          else None, delta_color="red", delta_arrow="off")
m3.metric("Aliases", ", ".join(version.aliases) or "none")
m4.metric("Artifact", "unchanged" if status["artifact_unchanged"] else "CHANGED")
gate_tab, signoff_tab, card_tab, lineage_tab, details_tab = st.tabs(
    ["Gate", "Sign-off and promotion", "Card and scorecard", "Lineage and history", "Details"])
with gate_tab:
    gate = version.gate
    st.markdown(f"**{gate.get('status', '?').title()}**" + (f" against {gate['champion']}" if gate.get("champion") else "")
                + (f": {gate['reason']}" if gate.get("reason") else "") +
                (f" on {gate['rows']:,} held-out rows of the candidate." if gate.get("rows") else ""))
    if gate.get("metrics"):
        st.dataframe(pd.DataFrame([{"metric": m, **r} for m, r in gate["metrics"].items()]), hide_index=True)
    if gate.get("all_metrics"):
        both = pd.DataFrame(gate["all_metrics"])
        st.dataframe(both.style.apply(charts.mark_best(registry.LOWER_IS_BETTER), axis=1), width="stretch")
with signoff_tab:
    table = pd.DataFrame([{"role": role, "required": r["required"], "approved by": ", ".join(r["approved_by"]),
                           "rejected by": ", ".join(r["rejected_by"]), "met": r["met"],
                           "not counted (signed another role)": ", ".join(r["not_counted"])}
                          for role, r in status["roles"].items()])
    st.dataframe(table, hide_index=True)
    done = registry.signoffs(lake, version.ref)
    if done:
        st.dataframe(pd.DataFrame(done), hide_index=True)
    mine = registry.signable_roles(lake, state.actor())
    if accounts.single_user(lake):  # one person signs one role of a version: the others need other people
        st.info("Single-user mode: who trained or registered a model cannot also sign it off, and each sign-off role "
                "is another person. Add approver accounts on the Accounts page (the first account you add is an "
                "admin: you); they sign here once signed in.", icon=":material/group_add:")
        st.page_link("pages/accounts.py", label="Add approvers on the Accounts page", icon=":material/manage_accounts:")
    elif state.can("signoff") and not mine:
        st.info(f"{state.actor()} holds no sign-off role: an admin grants one on the Accounts page (or below).")
    with st.form(f"signoff_{version.ref}"):
        a, b = st.columns(2)
        decision = a.radio("Decision", registry.DECISIONS, horizontal=True, key=f"signoff_decision_{version.ref}")
        role = b.selectbox("Role (the sign-off roles granted to you)", mine, key=f"signoff_role_{version.ref}")
        comment = st.text_area("Comment (required)", key=f"signoff_comment_{version.ref}")
        if st.form_submit_button(f"Sign off as {state.actor()}", disabled=not state.can("signoff") or not mine):
            with state.user_errors():
                registry.signoff(lake, version.ref, decision=decision, comment=comment, actor=state.actor(), role=role)
                st.rerun()
    if state.can("users") and not accounts.single_user(lake):
        with st.expander("Sign-off roles of accounts (admin)"):
            holders = accounts.signoff_holders(lake)
            st.dataframe(pd.DataFrame(holders), hide_index=True)
            a, b, c, d = st.columns([2, 2, 1, 1])
            who = a.selectbox("Account", [h["account"] for h in holders], key="grant_account")
            which = b.selectbox("Sign-off role", list(status["roles"]), key="grant_role")
            for column, label, change in ((c, "Grant", accounts.grant_signoff_role),
                                          (d, "Revoke", accounts.revoke_signoff_role)):
                if column.button(label, key=f"grant_{label.lower()}", disabled=not who):
                    with state.user_errors():
                        change(lake, who, which, actor=state.actor())
                        st.rerun()
    a, b = st.columns([1, 2])
    alias = a.text_input("Promote to alias", "champion", key=f"promote_alias_{version.ref}")
    reason = b.text_input("Override reason (only when the gate failed; audited)", key=f"promote_reason_{version.ref}")
    waiting = [f"{role} ({len(r['approved_by'])}/{r['required']})" for role, r in status["roles"].items() if not r["met"]]
    if alias == "champion" and waiting:
        st.caption(f"Champion needs the sign-offs first: {', '.join(waiting)}. Approvers sign above once signed in; "
                   "an admin adds them on the Accounts page.")
    if st.button("Promote", key=f"promote_go_{version.ref}", disabled=not state.can("promote")):
        with state.user_errors():
            done = registry.promote(lake, version.ref, alias=alias, actor=state.actor(), override_reason=reason or None)
            st.session_state["promoted"] = (f"{done['model']} is now {done['alias']}"
                                            + (" (gate overridden)" if done["override"] else ""))
            st.rerun()  # the table and the version's aliases above were read before the move
    if st.session_state.get("promoted"):
        st.success(st.session_state.pop("promoted"), icon=":material/check_circle:")
with card_tab:
    card = version.card
    with st.form(f"card_{version.ref}"):
        edits = {field: st.text_area(field.replace("_", " ").capitalize(), card.get(field, ""), key=f"card_{field}_{version.ref}")
                 for field in ("purpose", "intended_use", "limitations", "ethical_considerations", "tradeoffs")}
        owners = st.text_input("Owners (comma-separated)", ", ".join(card.get("owners", [])), key=f"card_owners_{version.ref}")
        targets = st.text_input('Targets, JSON: {"roc_auc": {"min": 0.8}, "brier": {"max": 0.2}}',
                                json.dumps(card.get("targets") or {}), key=f"card_targets_{version.ref}")
        if st.form_submit_button("Save the card", disabled=not state.can("edit")):
            with state.user_errors():
                try:
                    parsed = json.loads(targets or "{}")
                except json.JSONDecodeError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise registry.InputError('Targets must be a JSON object, such as {"roc_auc": {"min": 0.8}}.')
                registry.update_card(lake, version.ref, {**edits, "targets": parsed,
                                                         "owners": [o.strip() for o in owners.split(",") if o.strip()]},
                                     actor=state.actor())
                st.rerun()
    if st.button("Prepare the scorecard (PDF and HTML)", key=f"scorecard_go_{version.ref}"):
        with st.spinner("Rendering the scorecard…"), state.user_errors():
            built = scorecard.build(lake, version.ref)
            st.session_state["scorecard_files"] = (version.ref, scorecard.to_pdf(built), scorecard.to_html(built))
    files = st.session_state.get("scorecard_files")
    if files and files[0] == version.ref:
        a, b = st.columns(2)
        a.download_button("Download PDF", files[1], f"scorecard_{name}_v{version.version}.pdf", "application/pdf",
                          key="scorecard_pdf")
        b.download_button("Download HTML", files[2], f"scorecard_{name}_v{version.version}.html", "text/html",
                          key="scorecard_html")
with lineage_tab:
    st.graphviz_chart(charts.model_lineage_dot(registry.lineage(lake, version.ref)))
    history = registry.history(lake, name)
    if history:
        st.dataframe(pd.DataFrame([{k: e[k] for k in ("seq", "at", "actor", "action", "object")} for e in history]),
                     hide_index=True)
with details_tab:
    st.json({k: v for k, v in version.to_dict().items() if k not in ("gate", "card")})
