"""A walk through every page of the app in Chromium (1400x1000) on a saved demo review: every tab and every
view switch opened, nothing thrown, no raw library or Python error text, no Python dict shown as text, no
"predicted 1"; each page's settle time is measured and printed (not asserted). Then an admin makes an
approver account in the app, and a deep link survives the sign-in. Screenshots go to tests/artifacts/walk/.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import ROOT
from browser import SETTLED, chromium_tab, running_app

pytestmark = pytest.mark.browser  # drives the app in Chromium

WALK = ROOT / "tests" / "artifacts" / "walk"
RAW_ERROR = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|not supported for|object has no attribute|"
                       r"unexpected keyword|NaN|<NA>")
PY_DICT = re.compile(r"\{'[^']*': ")
SETTLE_TIMES: dict[str, float] = {}
TEXTS: dict[str, str] = {}
PROBLEMS: list[tuple[str, str]] = []  # (where, what): the walk goes on and reports them all at once
# Defects of issue 18 fixed on other engineers' branches; with those merged, none of these is seen and the tests pass.
def pages() -> list[tuple[str, str]]:
    """(address, title) of every page in the navigation, read from app.py (the default page is at "/")."""
    tree = ast.parse((ROOT / "app.py").read_text())
    listed = ast.literal_eval(next(n.value for n in tree.body if isinstance(n, ast.Assign)
                                   and getattr(n.targets[0], "id", "") == "PAGES"))
    entries = [(Path(script).stem, title) for section in listed.values() for script, title, _ in section]
    return [("" if i == 0 else name, title) for i, (name, title) in enumerate(entries)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A lake with the credit demo, a lightgbm model with a saved review (every analysis a meeting looks at),
    registered, a scored batch and a drift report; then `streamlit run app.py` over it."""
    from core import review, training
    from core.data import demo
    from core.governance import findings, registry
    from core.lake import Lake
    from core.operations import drift, scoring

    folder = tmp_path_factory.mktemp("walk") / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=5_000)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    made = review.create(lake, run_id=run.run_id, actor="t",
                         components=["overview", "explain", "errors", "fairness", "counterfactuals", "checks"], cf_rows=5)
    other = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["logistic"],
                           sensitive=["sex", "race_ethnicity"], exclude=["applicant_id", "applied_at"]).runs[0]
    review.create(lake, run_id=other.run_id, actor="t")  # side by side needs two reviewed models
    findings.pin(lake, made.review_id, title="Group B misses more defaults", severity="high", component="fairness",
                 settings={"sensitive": "race_ethnicity"}, actor="t")  # the meeting has a finding to draw
    findings.pin(lake, made.review_id, title="The model learns its training rows", severity="medium", component="checks",
                 settings={"check": "overfit"}, actor="t")  # and one from the validation checks
    registry.register(lake, run.run_id, name="credit", actor="t", alias="challenger", review_id=made.review_id)
    scoring.score(lake, "credit@1", dataset="applications_batch2", actor="t")
    drift.report(lake, "credit@1", dataset="applications_batch2", actor="t")
    lake.close()
    with running_app(folder, tmp_path_factory.mktemp("log"), start_seconds=90) as url:
        yield {"url": url, "lake": folder, "review": made.review_id}


@pytest.fixture(scope="module")
def page(server):
    WALK.mkdir(parents=True, exist_ok=True)
    with chromium_tab(timeout_ms=120_000) as tab:
        yield tab


def settle(page) -> None:
    """Until the script is done and no spinner is left on the page."""
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED)
    page.locator('[data-testid="stSpinner"]').first.wait_for(state="detached")
    page.wait_for_function(SETTLED)


def check(page, where: str) -> None:
    if page.locator('[data-testid="stException"]').count():
        PROBLEMS.append((where, "exception: " + page.locator('[data-testid="stException"]').first.inner_text()[:600]))
    if "Page not found" in page.inner_text("body"):
        PROBLEMS.append((where, "Page not found"))
    text = page.locator('[data-testid="stMain"]').inner_text()
    TEXTS[where] = text
    for kind, pattern in (("raw error text", RAW_ERROR), ("a Python dict as text", PY_DICT),
                          ("predicted 1", re.compile(r"\bpredicted 1\b"))):
        for found in pattern.finditer(text):
            PROBLEMS.append((where, f"{kind}: ...{text[max(0, found.start() - 120):found.end() + 120]}..."))


def verdict(problems: list[tuple[str, str]]) -> None:
    """Fail on any problem, naming each page and what was seen there."""
    assert not problems, "\n".join(f"{where}: {what}" for where, what in problems)


def slug(label: str) -> str:
    return re.sub(r"\W+", "_", label).strip("_")


def open_every_view(page, name: str) -> None:
    """Click every tab, and every option of every segmented control (view switches), checking each."""
    main = page.locator('[data-testid="stMain"]')
    for i in range(main.get_by_role("tab").count()):
        tab = main.get_by_role("tab").nth(i)
        label = tab.inner_text().strip()
        tab.click()
        settle(page)
        check(page, f"{name} / {label}")
        page.screenshot(path=str(WALK / f"{name}__{slug(label)}.png"))
    switches = main.locator('[data-testid="stButtonGroup"]')
    for s in range(switches.count()):
        options = switches.nth(s).get_by_role("button")
        for o in range(options.count()):
            option = options.nth(o)
            label = option.inner_text().strip()
            if option.get_attribute("aria-pressed") == "true" or option.is_disabled():
                continue
            option.click()
            settle(page)
            check(page, f"{name} / {label}")
            page.screenshot(path=str(WALK / f"{name}__{slug(label)}.png"))


def test_walk_every_page_and_every_tab(page, server):
    for name, title in pages():
        started = time.time()
        page.goto(f"{server['url']}/{name}")
        page.get_by_role("heading", name=title, exact=True).wait_for()
        settle(page)
        name = name or "explorer"
        SETTLE_TIMES[name] = round(time.time() - started, 2)
        check(page, name)
        page.screenshot(path=str(WALK / f"{name}.png"))
        open_every_view(page, name)
    print("settle times (s):", json.dumps(SETTLE_TIMES))
    (WALK / "settle_times.json").write_text(json.dumps(SETTLE_TIMES, indent=1))
    (WALK / "problems.json").write_text(json.dumps(PROBLEMS, indent=1))
    verdict(PROBLEMS)


def test_the_fairness_page_opens_on_the_saved_review_at_once(page, server):
    seen, started = len(PROBLEMS), time.time()
    page.goto(f"{server['url']}/fairness?review={server['review']}")
    page.get_by_text("Four-fifths rule", exact=False).first.wait_for()
    settle(page)
    print(f"Fairness on a saved review settled in {time.time() - started:.2f}s")
    check(page, "fairness (saved review)")
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 4  # rates, ROC, precision-recall, sweep
    verdict(PROBLEMS[seen:])


def test_a_comment_sent_by_enter_and_then_the_button_is_stored_once(page, server):
    """Enter in the comment box submits the form; a click on "Add the comment" before the page redrew used to
    submit it again with the same text, and the comment was stored twice."""
    seen = len(PROBLEMS)
    page.goto(f"{server['url']}/meeting?review={server['review']}")
    page.get_by_role("heading", name="Review meeting", exact=True).wait_for()
    settle(page)
    check(page, "meeting with findings")  # the walk's meeting page opens the newest review, which has none
    page.screenshot(path=str(WALK / "meeting_findings.png"))
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Add the comment")).first
    form.get_by_label("Comment").fill("Said once, sent twice")
    form.get_by_label("Comment").press("Enter")
    form.get_by_role("button", name="Add the comment").click()
    settle(page)
    page.get_by_text("Said once, sent twice").first.wait_for()
    page.wait_for_timeout(1000)  # a second submission, had one gone out, has landed by now
    settle(page)
    assert page.locator('[data-testid="stMain"]').inner_text().count("Said once, sent twice") == 1
    listed = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "findings",
                                        server["review"]], cwd=ROOT, capture_output=True, text=True).stdout)["findings"]
    assert [c["text"] for f in listed for c in f["comments"]].count("Said once, sent twice") == 1
    verdict(PROBLEMS[seen:])


def test_an_admin_makes_an_approver_and_a_deep_link_survives_the_sign_in(page, server):
    seen = len(PROBLEMS)
    page.goto(f"{server['url']}/accounts")
    page.get_by_role("heading", name="Accounts", exact=True).wait_for()
    settle(page)
    form = page.locator('[data-testid="stForm"]')
    form.get_by_label("Account name").fill("ada")
    form.get_by_label(re.compile("^Password")).fill("admin password 1")
    form.get_by_label("The password again").fill("admin password 1")
    form.get_by_role("button", name="Add the account").click()
    page.get_by_text("Added ada (admin).").wait_for()
    page.get_by_text("Signed in as").first.wait_for()
    settle(page)
    form.get_by_label("Account name").fill("dana")
    form.locator('[data-testid="stSelectbox"]').click()
    page.get_by_role("option", name="approver", exact=True).click()
    form.get_by_label(re.compile("^Password")).fill("approver pass 1")
    form.get_by_label("The password again").fill("approver pass 1")
    form.locator('[data-testid="stMultiSelect"]').click()
    page.get_by_role("option", name="risk_compliance", exact=True).click()
    page.keyboard.press("Escape")
    form.get_by_role("button", name="Add the account").click()
    page.get_by_text("Added dana (approver), signs off as risk_compliance.").wait_for()
    settle(page)
    check(page, "accounts")
    page.screenshot(path=str(WALK / "accounts_made.png"))
    listed = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "users"],
                                       cwd=ROOT, capture_output=True, text=True).stdout)["users"]
    assert {u["name"]: u["role"] for u in listed} == {"ada": "admin", "dana": "approver"}
    # Signed out, a deep link shows the sign-in (no "Page not found") and then lands where it pointed.
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
    page.goto(f"{server['url']}/models?model=credit@1")
    page.get_by_role("heading", name="Sign in to Assay").wait_for()
    settle(page)
    assert "Page not found" not in page.inner_text("body")
    page.get_by_label("Account", exact=True).fill("dana")
    page.get_by_label("Password", exact=True).fill("approver pass 1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Model registry", exact=True).wait_for()
    settle(page)
    assert "model=credit%401" in page.url or "model=credit@1" in page.url
    assert "Page not found" not in page.inner_text("body")
    check(page, "models after sign-in")
    verdict(PROBLEMS[seen:])
