"""In a real browser (Debian's Chromium via Playwright, as tests/test_e2e_browser.py): click a row of
the explained-rows table to explain it, edit it in what-if, and pick a cohort once in the sidebar
and see it named on the review pages. Screenshots go to tests/artifacts/ (rows_*.png)."""
from __future__ import annotations


import pytest

from browser import ARTIFACTS, chromium_tab, running_app
from test_e2e_browser import assert_no_exception, open_page

pytestmark = pytest.mark.browser  # drives the app in Chromium

COHORT = "young_self_employed"
RAW = ("not supported", "integer data", "Traceback", "ValueError", "{'")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from core import review, training
    from core.data import cohorts, demo
    from core.lake import Lake

    folder = tmp_path_factory.mktemp("rows_e2e") / "lake"
    lake = Lake.open(folder)
    demo.build(lake, rows=3_000, with_transactions=False)
    run = training.train(lake, dataset="applications", target="defaulted", actor="t", algorithms=["lightgbm"],
                         sensitive=["sex", "race_ethnicity"]).runs[0]
    review.create(lake, run_id=run.run_id, actor="t")
    cohorts.save(lake, COHORT, dataset="applications", actor="t", usecase=demo.USECASE,
                 conditions=[cohorts.Condition("employment", "==", "self_employed"), cohorts.Condition("age", "<", 40)])
    lake.close()
    with running_app(folder, tmp_path_factory.mktemp("rows_log")) as url:
        yield {"url": url}


@pytest.fixture(scope="module")
def page(server):
    with chromium_tab() as tab:
        tab.goto(server["url"])
        tab.get_by_role("heading", name="Data explorer").wait_for(timeout=120_000)
        yield tab


def no_raw_text(page) -> None:
    body = page.inner_text("body")
    assert not [raw for raw in RAW if raw in body], body[:3000]


def click_table_row(page, panel, position: int) -> None:
    """Click the selection box at the left of a table row (the grid is drawn on a canvas)."""
    grid = panel.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    grid.click(position={"x": 18, "y": 35 * (position + 1) + 17})  # header and rows are 35 px high


def shot(page, anchor, name: str) -> None:
    """A screenshot with `anchor` near the top (the app scrolls inside its main block, not the page)."""
    anchor.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.mouse.move(700, 500)
    page.mouse.wheel(0, -120)  # a little of what comes before it
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / name))


def settled(page) -> None:
    """The rerun is over: no running indicator and no element left faded from the run before."""
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]') && "
                           "!document.querySelector('[data-stale=\"true\"]')", timeout=120_000)


def test_click_a_row_to_explain_it_and_edit_it_in_what_if(page):
    open_page(page, "Explainability")
    page.get_by_role("tab", name="One row").click()
    panel = page.get_by_role("tabpanel", name="One row")
    panel.get_by_text("Click a row in the table").wait_for()
    click_table_row(page, panel, 2)
    said = panel.locator('[data-testid="stMarkdownContainer"]').filter(has_text="applicant_id").first
    said.wait_for()
    assert "predicted defaulted =" in said.inner_text()
    settled(page)
    assert_no_exception(page)
    shot(page, said, "rows_explain_one_row.png")
    page.get_by_role("tab", name="Partial dependence & ICE").click()
    settled(page)
    no_raw_text(page)
    shot(page, page.get_by_role("tabpanel", name="Partial dependence & ICE").locator('[data-testid="stVegaLiteChart"]').nth(2),
         "rows_partial_dependence.png")

    open_page(page, "Counterfactuals & what-if")
    page.get_by_role("tab", name="What-if").click()
    panel = page.get_by_role("tabpanel", name="What-if")
    panel.get_by_text("Click a row in the table").wait_for()
    click_table_row(page, panel, 1)
    panel.get_by_text("Nearest counterfactual").wait_for(timeout=120_000)
    late = panel.get_by_role("spinbutton", name="late_payments_12m")
    late.fill("6")
    late.press("Enter")
    answer = panel.get_by_text("changed: late_payments_12m")
    answer.wait_for()
    settled(page)
    assert_no_exception(page)
    no_raw_text(page)
    shot(page, panel.get_by_text("Edited row", exact=True), "rows_what_if.png")
    shot(page, panel.get_by_text("Nearest counterfactual"), "rows_what_if_counterfactual.png")


def test_pick_a_cohort_once_and_see_it_on_every_review_page(page):
    open_page(page, "Model overview")
    settled(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    option = page.get_by_role("option", name=COHORT, exact=True)
    for attempt in range(4):  # a first click can only take the focus from the widget that had it, and a rerun
        sidebar.get_by_role("combobox", name="Cohort").click()  # still drawing can close the list it opened
        try:
            option.click(timeout=5_000)  # the box itself was clicked (its label would only focus it)
            break
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"rows_cohort_list_attempt{attempt}.png"))
            page.keyboard.press("Escape")
            settled(page)
    else:
        raise AssertionError("The sidebar's cohort list never offered " + COHORT)
    page.get_by_text(f"Cohort {COHORT}:").first.wait_for()
    page.get_by_text(f"in cohort {COHORT}").first.wait_for()
    settled(page)
    assert_no_exception(page)
    shot(page, page.get_by_role("heading", name="Model overview"), "rows_cohort_overview.png")
    for label, name in (("Explainability", "rows_cohort_explainability.png"), ("Error analysis", "rows_cohort_errors.png"),
                        ("Fairness", "rows_cohort_fairness.png")):
        open_page(page, label)
        page.get_by_text(f"Cohort {COHORT}:").first.wait_for()
        settled(page)
        assert_no_exception(page)
        no_raw_text(page)
        shot(page, page.get_by_role("heading", name=label), name)
    open_page(page, "Error analysis")
    page.get_by_role("button", name="Use as cohort").first.click()
    page.get_by_text("now applies to every review page").wait_for()
    settled(page)
    assert_no_exception(page)
    named = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="chosen in the sidebar").first.inner_text()
    assert f"Cohort {COHORT}:" not in named and "employment == 'self_employed' and age < 40 and" in named  # the node's
    shot(page, page.get_by_role("heading", name="Error analysis"), "rows_cohort_from_a_node.png")
