"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`.

Starts the app on a free localhost port over a temporary lake (the demo builds on first
start), uploads a CSV, reads its profile, refuses a ragged file, and checks that an ingest
from the CLI while the app writes loses nothing. Screenshots go to tests/artifacts/.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from browser import ARTIFACTS, SETTLED, chromium_tab, running_app
from support import ROOT, write_csv

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lake = tmp_path_factory.mktemp("e2e") / "lake"
    with running_app(lake, tmp_path_factory.mktemp("log"), start_seconds=90) as url:
        yield {"url": url, "lake": lake}


@pytest.fixture(scope="module")
def page(server):
    with chromium_tab() as tab:
        yield tab


def assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:2000]
    assert "Traceback" not in page.inner_text("body")


def open_page(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(label, exact=True).click()
    page.get_by_role("heading", name=label).wait_for()


def choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_first_request_a_deep_link_opens_inside_the_app(page, server):
    """A server's first request in Streamlit's legacy pages/ mode would show a bare page."""
    page.goto(f"{server['url']}/datasets")
    page.get_by_role("heading", name="Datasets").wait_for()
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Data explorer", exact=True).wait_for()
    assert "usecases" not in nav.inner_text() and "Use case" in page.inner_text("body")  # titles, not file names
    assert_no_exception(page)


def test_first_start_opens_the_explorer_on_the_demo(page, server):
    started = time.time()
    page.goto(server["url"])
    page.get_by_role("heading", name="Data explorer").wait_for()
    page.locator('[data-testid="stMetricValue"]').filter(has_text="50,000").first.wait_for()  # the profile grid holds 50,000 too
    print(f"first start with demo build: {time.time() - started:.1f}s")
    page.get_by_text("income", exact=True).first.wait_for(state="attached")  # grid cells are drawn on a canvas
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)


def test_upload_a_csv_and_see_its_profile(page, server, tmp_path):
    rows = "".join(f"{i},{'north' if i % 3 else 'south'},{'' if i % 10 == 0 else i * 1.5}\n" for i in range(1, 201))
    csv = write_csv(tmp_path / "Branch Sales.csv", "store_id,region,sales\n" + rows)
    open_page(page, "Datasets")
    page.locator('input[type="file"]').set_input_files(str(csv))
    # the name is proposed from the file name
    page.wait_for_function("() => [...document.querySelectorAll('input')].some(i => i.value === 'branch_sales')")
    page.get_by_role("button", name="Ingest upload").click()
    page.get_by_text("Ingested 200 rows as branch_sales@1").first.wait_for()
    assert_no_exception(page)
    open_page(page, "Data explorer")
    choose(page, "Dataset", "branch_sales")
    page.locator('[data-testid="stMetricValue"]').filter(has_text="200").first.wait_for()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    page.screenshot(path=str(ARTIFACTS / "uploaded_profile.png"), full_page=True)
    assert_no_exception(page)
    profile = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "profile",
                                         "branch_sales"], cwd=ROOT, capture_output=True, text=True).stdout)
    assert profile["rows"] == 200
    assert {c["name"]: c["missing"] for c in profile["columns"]} == {"store_id": 0, "region": 0, "sales": 20}


def test_a_ragged_upload_is_refused_with_a_message(page, server, tmp_path):
    bad = write_csv(tmp_path / "ragged.csv", "a,b\n1,2\n3\n")
    open_page(page, "Datasets")
    page.locator('input[type="file"]').set_input_files(str(bad))
    page.get_by_role("button", name="Ingest upload").click()
    page.get_by_text("line 3 has 1 field(s) but the header has 2").wait_for()
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "ragged_refused.png"), full_page=True)


def test_cli_ingest_while_the_app_writes_loses_nothing(page, server, tmp_path):
    big = write_csv(tmp_path / "cli_rows.csv", "k,v\n" + "".join(f"{i},{i % 7}\n" for i in range(200_000)))
    ui = write_csv(tmp_path / "ui_rows.csv", "k,v\n" + "".join(f"{i},{i % 5}\n" for i in range(50_000)))
    open_page(page, "Datasets")
    page.locator('input[type="file"]').set_input_files(str(ui))
    page.wait_for_function("() => [...document.querySelectorAll('input')].some(i => i.value === 'ui_rows')")
    cli = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1]); from core.cli import main\n"
        "for i in range(4): assert main(['--lake', sys.argv[2], 'ingest', sys.argv[3], '--name', 'cli_rows']) == 0"),
        str(ROOT), str(server["lake"]), str(big)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for version in (1, 2, 3):
        page.get_by_role("button", name="Ingest upload").click()
        page.get_by_text(f"Ingested 50,000 rows as ui_rows@{version}").first.wait_for()
    out, err = cli.communicate(timeout=300)
    assert cli.returncode == 0, err
    listing = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "datasets",
                                         "ui_rows"], cwd=ROOT, capture_output=True, text=True).stdout)
    assert [v["rows"] for v in listing["versions"]] == [50_000] * 3
    listing = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "datasets",
                                         "cli_rows"], cwd=ROOT, capture_output=True, text=True).stdout)
    assert [v["rows"] for v in listing["versions"]] == [200_000] * 4
    assert_no_exception(page)


def test_train_and_compare_in_the_browser(page, server):
    open_page(page, "Train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Best by roc_auc").first.wait_for(timeout=120_000)
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "train.png"), full_page=True)
    open_page(page, "Compare runs")
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.get_by_text("Best by roc_auc").first.wait_for()
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)


def test_a_persisted_review_opens_quickly_in_the_browser(page, server):
    runs = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "runs"], cwd=ROOT,
                                     capture_output=True, text=True).stdout)["runs"]
    made = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "review", "--run",
                                      runs[0]["run_id"]], cwd=ROOT, capture_output=True, text=True).stdout)
    assert made["components"]["errors"]["cohorts"], made
    open_page(page, "Model overview")  # warm the page machinery once
    for label, ready in (("Error analysis", '[data-testid="stGraphVizChart"]'),
                         ("Explainability", '[data-testid="stVegaLiteChart"]')):
        started = time.time()
        page.locator('[data-testid="stSidebarNav"]').get_by_text(label, exact=True).click()
        page.get_by_role("heading", name=label).wait_for()
        page.locator(ready).first.wait_for()
        print(f"{label} page with a persisted review opened in {time.time() - started:.2f}s")
        assert_no_exception(page)
        page.screenshot(path=str(ARTIFACTS / f"{label.lower().replace(' ', '_')}.png"), full_page=True)


def test_counterfactuals_then_register_promote_refused_and_scorecard(page, server, tmp_path):
    """A reviewer finds what flips decisions, registers the model, cannot promote it without the
    sign-offs, and downloads the scorecard PDF, which opens."""
    page.goto(server["url"])
    page.get_by_role("heading", name="Data explorer").wait_for(timeout=120_000)
    runs = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "runs"], cwd=ROOT,
                                     capture_output=True, text=True).stdout)["runs"]
    if not runs:  # when this test runs on its own
        subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "train", "--dataset", "applications",
                        "--target", "defaulted", "--algorithms", "lightgbm"], cwd=ROOT, capture_output=True, check=True)
    open_page(page, "Counterfactuals & what-if")
    page.get_by_role("button", name="Find counterfactuals").click()
    page.get_by_text("Which features change most often").wait_for(timeout=120_000)
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "counterfactuals.png"), full_page=True)
    open_page(page, "Model registry")
    page.get_by_text("Register a model version").wait_for()
    if not page.get_by_label("New model name").is_visible():  # open on an empty registry
        page.get_by_text("Register a model version").click()
    page.get_by_label("New model name").fill("browser_model")
    page.get_by_label("New model name").press("Enter")
    page.get_by_role("button", name="Register", exact=True).click()
    page.get_by_text("Registered browser_model@1").wait_for(timeout=120_000)
    page.get_by_role("tab", name="Sign-off and promotion").click()
    page.get_by_role("button", name="Promote").click()
    page.get_by_text("lacks the required sign-offs").wait_for()
    page.get_by_role("tab", name="Card and scorecard").click()
    page.get_by_role("button", name="Prepare the scorecard (PDF and HTML)").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download PDF").click()
    saved = tmp_path / "scorecard.pdf"
    download.value.save_as(saved)
    import pypdfium2

    text = pypdfium2.PdfDocument(str(saved))[0].get_textpage().get_text_range()
    assert "Responsible-AI scorecard: browser_model@1" in text
    assert_no_exception(page)
    open_page(page, "Lifecycle")
    page.get_by_text("The audit chain is intact").wait_for()
    page.screenshot(path=str(ARTIFACTS / "lifecycle.png"), full_page=True)


def test_a_meeting_in_the_browser_with_a_deep_link_and_an_offline_report(page, server, tmp_path):
    """Pin a finding, decide it, open its link in a second browser, export the meeting and read it offline."""
    reviews = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "reviews"],
                                        cwd=ROOT, capture_output=True, text=True).stdout)["reviews"]
    if not reviews:
        page.goto(server["url"])  # the first start builds the demo
        page.get_by_role("heading", name="Data explorer").wait_for(timeout=120_000)
        runs = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "runs"], cwd=ROOT,
                                         capture_output=True, text=True).stdout)["runs"]
        if not runs:
            subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "train", "--dataset",
                            "applications", "--target", "defaulted", "--algorithms", "lightgbm"], cwd=ROOT,
                           capture_output=True, check=True)
            runs = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "runs"],
                                             cwd=ROOT, capture_output=True, text=True).stdout)["runs"]
        subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "review", "--run", runs[0]["run_id"]],
                       cwd=ROOT, capture_output=True, check=True)
    page.goto(server["url"])
    page.get_by_role("heading", name="Data explorer").wait_for(timeout=120_000)
    open_page(page, "Review meeting")
    page.get_by_label("What was seen").fill("Debt drives the score")
    page.get_by_label("What was seen").press("Enter")
    choose(page, "Component", "explain")
    page.get_by_role("button", name="Pin", exact=True).click()
    page.get_by_role("heading", name="Debt drives the score").wait_for()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Decision").last.click()
    page.keyboard.type("must fix")
    page.keyboard.press("Enter")
    page.get_by_label("Why").fill("Check debt-to-income before release")
    page.get_by_label("Why").press("Enter")
    record = page.get_by_role("button", name="Record the decision")
    record.click()
    record.wait_for(state="detached")  # recorded: the decision now matches what is stored
    page.get_by_label("Comment").fill("Expected: debt-to-income is the main driver")
    page.get_by_role("button", name="Add the comment").click()
    page.get_by_text("Expected: debt-to-income is the main driver").first.wait_for()
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED)  # during a rerun the old copy of the page may still be shown beside the new
    assert page.get_by_text("Expected: debt-to-income is the main driver").count() == 1
    link = page.url
    assert "finding=" in link and "review=" in link
    assert_no_exception(page)
    browser = page.context.browser
    second_context = browser.new_context()  # another user's browser: no shared state
    second = second_context.new_page()
    second.goto(link)
    second.get_by_role("heading", name="Debt drives the score").wait_for(timeout=120_000)
    second_context.close()
    # the must-fix finding blocks the sign-off of a version registered from this review's run
    current = page.url.split("review=")[1].split("&")[0]
    reviewed = json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), "review", "show",
                                          current], cwd=ROOT, capture_output=True, text=True).stdout)
    cli = lambda *args, user="root": json.loads(subprocess.run(
        [sys.executable, "-m", "core", "--lake", str(server["lake"]), *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "USER": user, "LOGNAME": user}).stdout)  # the local administrator, under two OS names
    registered = cli("register", "--run", reviewed["run_id"], "--name", "meeting_model", "--review", current,
                     user="registrar")
    refused = cli("signoff", f"meeting_model@{registered['version']}", "--decision", "approve", "--comment", "ok",
                  "--role", "data_science_lead", user="signer")
    assert "open must-fix items" in refused["error"] and "Debt drives the score" in refused["error"]
    page.get_by_role("button", name="Export the meeting").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download the meeting (one HTML file that opens offline)").click()
    saved = tmp_path / "meeting.html"
    download.value.save_as(saved)
    offline = browser.new_context(offline=True)  # no server, no network
    report = offline.new_page()
    report.goto(saved.as_uri())
    report.get_by_text("Debt drives the score").wait_for()
    assert "must fix" in report.inner_text("body") and "Check debt-to-income before release" in report.inner_text("body")
    width = report.evaluate("() => document.querySelector('img').naturalWidth")
    assert width > 100  # the chart is in the file and draws offline
    report.screenshot(path=str(ARTIFACTS / "meeting_report.png"), full_page=True)
    offline.close()
    runs = cli("runs")["runs"]
    if len(runs) < 2:  # when this test runs on its own
        cli("train", "--dataset", "applications", "--target", "defaulted", "--algorithms", "logistic")
        runs = cli("runs")["runs"]
    reviewed_runs = {r["run_id"] for r in cli("reviews")["reviews"]}
    for run in runs[:2]:  # the page opens on the two newest runs; both need a review
        if run["run_id"] not in reviewed_runs:
            cli("review", "--run", run["run_id"])
    open_page(page, "Side by side")
    page.get_by_role("heading", name="Metrics on the held-out rows").wait_for(timeout=120_000)
    assert_no_exception(page)


def test_a_fairness_finding_on_race_ethnicity_reaches_the_exported_report(page, server, tmp_path):
    """Pin a fairness finding on race_ethnicity from the Fairness page; the exported meeting report draws that
    finding with the race_ethnicity chart and sentences, not another column's."""
    import re

    cli = lambda *args: json.loads(subprocess.run([sys.executable, "-m", "core", "--lake", str(server["lake"]), *args],
                                                  cwd=ROOT, capture_output=True, text=True).stdout)
    page.goto(server["url"])  # the first start builds the demo
    page.get_by_role("heading", name="Data explorer").wait_for(timeout=120_000)
    trained = cli("train", "--dataset", "applications", "--target", "defaulted", "--algorithms", "lightgbm",
                  "--sensitive", "sex", "race_ethnicity", "--exclude", "applicant_id", "applied_at")
    made = cli("review", "--run", trained["runs"][0]["run_id"], "--components", "overview,fairness")
    reviewed = made["review_id"]
    page.goto(f"{server['url']}/fairness?review={reviewed}")
    page.get_by_role("heading", name="Fairness").wait_for(timeout=120_000)
    page.get_by_text("A saved review", exact=True).click()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Sensitive column or intersection").first.click()
    page.get_by_role("option", name=re.compile(r"^race_ethnicity")).click()
    page.get_by_text(re.compile(r"Four-fifths rule by race_ethnicity")).first.wait_for()
    assert_no_exception(page)
    page.get_by_role("button", name="Pin as a finding").click()
    page.get_by_label("What was seen").fill("Race: group rates differ")
    page.get_by_label("What was seen").press("Enter")
    page.get_by_role("button", name="Pin", exact=True).click()
    page.get_by_text("Pinned.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "fairness_pinned.png"), full_page=True)
    pinned = [f for f in cli("findings", reviewed)["findings"] if f["title"] == "Race: group rates differ"]
    assert len(pinned) == 1 and pinned[0]["settings"] == {"sensitive": "race_ethnicity"}
    page.goto(f"{server['url']}/meeting?review={reviewed}")
    page.get_by_role("heading", name="Race: group rates differ").wait_for(timeout=120_000)
    assert_no_exception(page)
    page.get_by_role("button", name="Export the meeting").click()
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download the meeting (one HTML file that opens offline)").click()
    saved = tmp_path / "fairness_meeting.html"
    download.value.save_as(saved)
    offline = page.context.browser.new_context(offline=True)
    report = offline.new_page()
    report.goto(saved.as_uri())
    report.get_by_text("Race: group rates differ").first.wait_for()
    shown = report.evaluate("""() => {
        const box = [...document.querySelectorAll('.finding')].find(d => d.innerText.includes('Race: group rates differ'));
        const images = [...box.querySelectorAll('img')];
        return {alts: images.map(i => i.alt), widths: images.map(i => i.naturalWidth), text: box.innerText};
    }""")
    assert shown["alts"] and all(alt.startswith("Rates by race_ethnicity") for alt in shown["alts"]), shown["alts"]
    assert all(width > 100 for width in shown["widths"])  # drawn, offline
    assert "Four-fifths rule by race_ethnicity" in shown["text"] and "race_ethnicity = Group" in shown["text"]
    assert "sex = " not in shown["text"] and "Every metric passes" not in shown["text"]
    report.locator(".finding").filter(has_text="Race: group rates differ").screenshot(
        path=str(ARTIFACTS / "fairness_finding_report.png"))
    offline.close()
