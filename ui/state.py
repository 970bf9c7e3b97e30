"""The lake handle and the current use case, shared by every page."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import streamlit as st

from core import demo
from core.config import load_config
from core.errors import AssayError
from core.lake import Lake

USECASE_KEY = "usecase"
APP = Path(__file__).resolve().parents[1] / "app.py"
ACTOR = "local"  # identities and roles arrive with the security work; until then the local user


@st.cache_resource(show_spinner=False)
def _lake_at(folder: str) -> Lake:
    return Lake.open(folder)


def lake() -> Lake:
    """The lake named by ASSAY_LAKE (or data/lake). One object per folder; each call takes its own cursor."""
    return _lake_at(str(load_config().folder))


def usecase() -> str:
    return st.session_state.get(USECASE_KEY) or "default"


def actor() -> str:
    return ACTOR


@contextmanager
def user_errors() -> Iterator[None]:
    """Show an AssayError as a message that says what to do, not as a traceback."""
    try:
        yield
    except AssayError as error:
        st.error(str(error), icon=":material/error:")


def ensure_demo() -> None:
    """On an empty lake, build the demo once, showing progress."""
    if st.session_state.get("_demo_checked"):
        return
    the_lake = lake()
    from core import datasets

    if not datasets.latest(the_lake):
        with st.status("First start: building the demo credit data…", expanded=True) as status:
            bar = st.progress(0.0)
            demo.ensure(the_lake, progress=lambda f, m: bar.progress(f, text=m))
            status.update(label="Demo data ready", state="complete", expanded=False)
        st.session_state[USECASE_KEY] = demo.USECASE
    st.session_state["_demo_checked"] = True


def usecase_picker() -> None:
    """The sidebar picker that scopes every page to one use case."""
    from core import usecases

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
