"""The lake handle and the current use case, shared by every page."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from core.governance import accounts
from core.data import demo
from core.lake import identity, permissions
from core.config import load_config, redact
from core.errors import AssayError
from core.lake import Lake

USECASE_KEY = "usecase"
APP = Path(__file__).resolve().parents[1] / "app.py"
ACTOR_KEY = "actor"
LOCAL = "local"  # the local administrator: single-user mode on this machine


@st.cache_resource(show_spinner=False)
def _lake_at(folder: str) -> Lake:
    return Lake.open(folder)


def lake() -> Lake:
    """The lake named by ASSAY_LAKE (or data/lake). One object per folder; each call takes its own cursor."""
    return _lake_at(str(load_config().folder))


def usecase() -> str:
    return st.session_state.get(USECASE_KEY) or "default"


def actor() -> str:
    """Who acts: the signed-in account, or the local administrator in single-user mode."""
    return st.session_state.get(ACTOR_KEY) or LOCAL


def role() -> str:
    return permissions.role_of(lake(), actor()) or "viewer"


def can(action: str) -> bool:
    """Whether the current user's role allows `action` (pages hide or disable what it does not;
    core refuses it either way)."""
    return permissions.allowed(role(), action)


def _client_ip():
    return st.context.ip_address  # None for a loopback client


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, AttributeError):
        return False
    except Exception:  # no secrets file at all
        return False


def gate() -> Callable[[], None] | None:
    """Who is using the app. Returns None when the session may go on, or the page to show instead:
    the OIDC sign-in, the local sign-in form, or the refusal for a remote client in single-user mode."""
    current = lake()
    identity.set_channel("app")  # every audit entry of this rerun says it came through the app
    if _oidc_configured():
        if not st.user.is_logged_in:
            return _oidc_page
        name = st.user.get("email") or st.user.get("name")
        if not current.query("SELECT count(*) FROM lake.assay.users WHERE name = ?", [name])[0][0]:
            return lambda: _refuse(f"{name} signed in, but is not an account of this Assay. Ask an admin: "
                                   f"`python -m core users add {name} --role viewer --oidc`.")
        st.session_state[ACTOR_KEY] = name
    elif accounts.single_user(current):
        if not permissions.loopback(_client_ip()):
            return lambda: _refuse("This Assay runs in single-user mode and answers only on the machine it runs on. "
                                   "To open it to others, configure accounts (`python -m core users add NAME --role "
                                   "admin`) and serve it behind TLS; see the README's security section.")
        st.session_state[ACTOR_KEY] = LOCAL
    elif not st.session_state.get(ACTOR_KEY) or st.session_state[ACTOR_KEY] == LOCAL:
        return _sign_in_page
    elif not _still_an_account(current, st.session_state[ACTOR_KEY]):
        return _sign_in_page
    return None


def _still_an_account(current: Lake, name: str) -> bool:
    """Re-read the signed-in account on every rerun (one small query): a removed account's session ends at
    its next interaction, with a message on the sign-in page; a changed role applies at once (role() reads it)."""
    if current.query("SELECT count(*) FROM lake.assay.users WHERE name = ?", [name])[0][0]:
        return True
    st.session_state.pop(ACTOR_KEY, None)
    st.session_state[_ENDED_KEY] = f"The account {name} no longer exists: this session has ended. Sign in again."
    return False


_ENDED_KEY = "_session_ended"


def identity_sidebar() -> None:
    with st.sidebar:
        if actor() == LOCAL:
            st.caption("Single-user mode, this machine only. To share Assay, add accounts on the Accounts page "
                       "(or `python -m core users add NAME --role admin`, password on standard input).")
        else:
            st.caption(f"Signed in as **{actor()}** ({role()})")
            if st.button("Sign out", key="sign_out"):
                st.session_state.pop(ACTOR_KEY, None)
                if _oidc_configured():
                    st.logout()
                st.rerun()
        from core.governance import registry  # how a meeting gets its approvers: said where everyone looks

        roles = ", ".join(registry.required_approvals(lake()))
        st.caption(f"Sign-off needs an approver for each of {roles}, each a different account: an admin adds them "
                   "on the Accounts page.")


def _refuse(message: str) -> None:
    st.title("Assay")
    st.error(message, icon=":material/block:")


def _oidc_page() -> None:
    st.title("Assay")
    st.button("Sign in", type="primary", on_click=st.login, key="oidc_sign_in")


def _sign_in_page() -> None:
    st.title("Sign in to Assay")
    if st.session_state.get(_ENDED_KEY):
        st.warning(st.session_state[_ENDED_KEY], icon=":material/logout:")
    with st.form("sign_in"):
        name = st.text_input("Account", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                account = accounts.authenticate(lake(), name, password)
            except AssayError as error:
                st.error(str(error))
            else:
                st.session_state[ACTOR_KEY] = account.name
                st.session_state.pop(_ENDED_KEY, None)
                st.rerun()


@contextmanager
def user_errors() -> Iterator[None]:
    """Show an AssayError as a message that says what to do, not as a traceback."""
    try:
        yield
    except AssayError as error:
        st.error(redact(str(error)), icon=":material/error:")


def dataset_picker(key: str):
    """The newest version of a dataset of the current use case, picked by name; stops the page with a
    hint when the use case has none."""
    from core.data import datasets

    available = datasets.latest(lake(), usecase=usecase())
    if not available:
        st.info(f"Use case **{usecase()}** has no datasets yet: ingest one on the Datasets page.")
        st.stop()
    name = st.selectbox("Dataset", [v.name for v in available], key=key)
    return datasets.get(lake(), name)


def ensure_demo() -> None:
    """On an empty lake, build the demo once, showing progress."""
    if st.session_state.get("_demo_checked"):
        return
    the_lake = lake()
    if demo.needs_build(the_lake):  # an empty lake, or a demo a crash left half-built
        with st.status("First start: building the demo credit data…", expanded=True) as status:
            bar = st.progress(0.0)
            demo.ensure(the_lake, progress=lambda f, m: bar.progress(f, text=m))
            status.update(label="Demo data ready", state="complete", expanded=False)
        st.session_state[USECASE_KEY] = demo.USECASE
    st.session_state["_demo_checked"] = True


def usecase_picker() -> None:
    """The sidebar picker that scopes every page to one use case."""
    from core.data import usecases

    names = [u.name for u in usecases.list_usecases(lake())]
    if st.session_state.get(USECASE_KEY) not in names:
        st.session_state[USECASE_KEY] = demo.USECASE if demo.USECASE in names else names[0]
    # The widget has its own key, copied to USECASE_KEY: Streamlit drops a widget's state when
    # the page changes, and the choice must survive navigation.
    st.session_state["_usecase_picker"] = st.session_state[USECASE_KEY]
    st.sidebar.selectbox("Use case", names, key="_usecase_picker", help="Every page shows the work of this use case.",
                         on_change=lambda: st.session_state.update({USECASE_KEY: st.session_state["_usecase_picker"]}))


def run_with_status(label: str, work: Callable, done: Callable[[object], str]):
    """Run `work(progress)` inside an st.status with a progress bar; a user error turns the status red
    and shows what to do. Returns work's result, or None when it failed."""
    status = st.status(label, expanded=True)
    with status:
        bar = st.progress(0.0)
        try:
            result = work(lambda fraction, message: bar.progress(fraction, text=message))
        except AssayError as error:
            status.update(label=f"{label.rstrip('…')} failed: nothing was written", state="error", expanded=True)
            st.error(str(error), icon=":material/error:")
            return None
        status.update(label=done(result), state="complete", expanded=False)
    return result


def ensure_app_shell() -> None:
    """Run the page inside app.py's navigation even when Streamlit starts it on its own.

    With a pages/ folder, Streamlit runs a server's first request (and every AppTest run) in its
    legacy multipage mode: the page alone, without app.py, with a sidebar of file names. Here
    we run app.py instead, in this same run, so widget events are kept: its st.navigation turns
    the legacy mode off and runs this page again, inside the real shell; then we stop.
    """
    import runpy

    from streamlit.runtime.pages_manager import PagesManager  # pinned streamlit==1.67.0

    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()


COHORT_KEY = "cohort"
ALL_ROWS = "All rows"
_COHORT_NOTE = "_cohort_note"


def cohort_picker(dataset: str):
    """The sidebar picker of the cohort every review page shows: a saved cohort of `dataset`, or all
    rows. Chosen once and kept across pages, like the use case (a choice of another dataset's cohort
    is kept for when a review of that dataset is shown). Returns the Cohort, or None for all rows."""
    from core.data import cohorts

    saved = {c.name: c for c in cohorts.list_cohorts(lake(), usecase=usecase(), dataset=dataset)}
    chosen = st.session_state.get(COHORT_KEY)
    st.session_state["_cohort_picker"] = chosen if chosen in saved else ALL_ROWS
    st.sidebar.selectbox("Cohort", [ALL_ROWS, *saved], key="_cohort_picker",
                         help=f"Every review page (overview, explainability, error analysis, fairness, counterfactuals) "
                              f"shows these rows of {dataset}. Save cohorts in the Data explorer or Error analysis.",
                         on_change=lambda: st.session_state.update(
                             {COHORT_KEY: None if st.session_state["_cohort_picker"] == ALL_ROWS
                              else st.session_state["_cohort_picker"]}))
    return saved.get(st.session_state["_cohort_picker"])


def use_cohort(name: str, note: str) -> None:
    """Make a saved cohort the one every review page shows (a button's action), with a note said once."""
    st.session_state[COHORT_KEY] = name
    st.session_state[_COHORT_NOTE] = note
    st.rerun()


def cohort_note() -> str | None:
    return st.session_state.pop(_COHORT_NOTE, None)
