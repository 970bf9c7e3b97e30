"""Accounts: who may use this Assay and what each may do. An admin adds accounts, changes roles and grants
the sign-off roles a model needs before it becomes champion; everyone else sees the accounts and who signs.
In single-user mode the first account made here is an admin, and this session signs in as it."""
import pandas as pd
import streamlit as st

from core.errors import InputError
from core.governance import accounts, registry
from core.lake.permissions import ROLES
from ui import state

state.ensure_app_shell()
st.title("Accounts")
lake = state.lake()
single = accounts.single_user(lake)
required = registry.required_approvals(lake)
held = accounts.all_signoff_roles(lake)
st.markdown("A model becomes champion once each sign-off role has approved it: "
            + ", ".join(f"**{role}** ({count} approver{'s' if count > 1 else ''})" for role, count in required.items())
            + ". Each role is signed by a different account that an admin granted it; one person signs at most one "
              "role of a version.")
listed = accounts.list_accounts(lake)
if listed:
    st.dataframe(pd.DataFrame([{"account": a.name, "role": a.role, "signs in with": a.sign_in,
                                "sign-off roles": ", ".join(held.get(a.name, [])) or "none"} for a in listed]),
                 hide_index=True)
    missing = [role for role in required if not any(role in roles for roles in held.values())]
    if missing:
        st.warning(f"No account holds the sign-off role{'s' if len(missing) > 1 else ''} {', '.join(missing)} yet: "
                   "nothing can become champion until an admin grants it below.", icon=":material/how_to_reg:")
if not state.can("users"):
    st.info(f"You are {state.actor()} ({state.role()}): only an admin adds accounts and grants roles.")
    st.stop()

st.subheader("Add an account")
if single:
    st.info("Assay runs in single-user mode: no accounts yet. The first account is an **admin** (you, from now on); "
            "add the approvers after it. Once an account exists, everyone signs in.", icon=":material/person_add:")
if st.session_state.pop("_account_added_clear", False):  # emptied only once added: a refusal keeps what was typed
    for field in ("account_add_name", "account_add_password", "account_add_again"):
        st.session_state[field] = ""
    st.session_state["account_add_grant"] = []
with st.form("account_add"):
    a, b = st.columns(2)
    name = a.text_input("Account name", key="account_add_name", placeholder="dana.risk")
    role = b.selectbox("Role", ["admin"] if single else list(ROLES), index=0 if single else list(ROLES).index("approver"),
                       key="account_add_role", help="viewer reads; analyst builds and reviews; approver signs off; "
                                                    "admin does everything, accounts included")
    c, d = st.columns(2)
    password = c.text_input(f"Password (at least {accounts.MIN_PASSWORD} characters)", type="password",
                            key="account_add_password")
    again = d.text_input("The password again", type="password", key="account_add_again")
    grant = st.multiselect("Sign-off roles to grant (approvers and admins)", list(required), key="account_add_grant")
    if st.form_submit_button("Add the account", type="primary"):
        with state.user_errors():
            if password != again:
                raise InputError("The two passwords differ: type the same password twice.")
            made = accounts.add(lake, name.strip(), role=role, actor=state.actor(), password=password)
            for signoff_role in grant:
                accounts.grant_signoff_role(lake, made.name, signoff_role, actor=state.actor())
            if single:  # the first account is this session's: the app leaves single-user mode now
                st.session_state[state.ACTOR_KEY] = made.name
            st.session_state["_account_added_clear"] = True
            st.session_state["account_added"] = (f"Added {made.name} ({made.role})"
                                                 + (f", signs off as {', '.join(grant)}" if grant else "") + ".")
            st.rerun()
if st.session_state.get("account_added"):
    st.success(st.session_state.pop("account_added"), icon=":material/check_circle:")
if not listed:
    st.stop()

st.subheader("Change an account")
names = [a.name for a in listed]
by_name = {a.name: a for a in listed}
who = st.selectbox("Account", names, key="account_pick")
a, b, c = st.columns([2, 2, 1])
new_role = a.selectbox("Role", list(ROLES), index=list(ROLES).index(by_name[who].role), key=f"account_role_{who}")
if b.button("Change the role", key="account_role_go", disabled=new_role == by_name[who].role):
    with state.user_errors():
        accounts.set_role(lake, who, new_role, actor=state.actor())
        st.rerun()
if c.button("Remove", key="account_remove_go", disabled=who == state.actor(),
            help="You cannot remove the account you are signed in with."):
    with state.user_errors():
        accounts.remove(lake, who, actor=state.actor())
        st.rerun()
d, e, f = st.columns([2, 1, 1])
signoff_role = d.selectbox("Sign-off role", list(required), key="account_signoff_role")
for column, label, change in ((e, "Grant", accounts.grant_signoff_role), (f, "Revoke", accounts.revoke_signoff_role)):
    if column.button(label, key=f"account_signoff_{label.lower()}"):
        with state.user_errors():
            change(lake, who, signoff_role, actor=state.actor())
            st.rerun()
