"""Shared fixtures: an empty lake per test, one small demo lake per session (read only: checked when the
session ends), and a demo lake of its own for a test that changes it. Helpers live in support.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.data import demo
from core.lake import Lake
from support import DEMO_ROWS, lake_state


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    opened = Lake.open(tmp_path / "lake")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Lake:
    """A lake holding the credit demo (6,000 applications) and the IHDP sample; tests only read it (a test that
    writes to it fails the session: use `own_demo_lake`)."""
    opened = Lake.open(tmp_path_factory.mktemp("demo") / "lake")
    demo.build(opened, rows=DEMO_ROWS)
    demo.ingest_ihdp(opened)
    built = lake_state(opened)
    yield opened
    changed = lake_state(opened) != built
    opened.close()
    assert not changed, "A test wrote to the session's read-only demo_lake; give it `own_demo_lake` instead."


@pytest.fixture
def own_demo_lake(tmp_path: Path) -> Lake:
    """A lake of the test's own with the credit demo (no transactions), for a test that changes it."""
    opened = Lake.open(tmp_path / "lake")
    demo.build(opened, rows=1_500, with_transactions=False)
    yield opened
    opened.close()
