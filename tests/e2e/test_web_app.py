"""`make run`'s demo, and the clinic web app showing it in a real browser (Debian's chromium,
driven by Playwright): a clinic whose patients have data and summaries from the start, and
what a clinician and a patient see and do. One demo stack for the module (its tests read it
and do not change it; `make test` keeps a module's tests on one worker, `--dist loadscope`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api  # a dev dependency: missing, the tier fails
import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import DEMO_PASSWORD, Stack, login, start_stack, stop_stack

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by `make chromium`
SCREENSHOTS = ROOT / "docs" / "screenshots"
# Two cores shared with the stack and the other tests: a page may take more than 5 s.
playwright_api.expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def demo() -> Iterator[Stack]:
    """The demo stack as `make run` starts it; what it printed is checked at the end."""
    stack = start_stack(None, "--demo", "--no-schedules")
    yield stack
    output = stop_stack(stack)
    assert "Demo clinic" in output and "two weeks of CGM" in output


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM.exists(), "the browser tests need Debian's chromium: run `make chromium`"
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, demo: Stack) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=demo.url)  # type: ignore[attr-defined]
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors


def test_the_demo_patients_are_summarised_and_visible_to_their_clinician(demo: Stack) -> None:
    carol = login(demo, "carol@tidewater.test")
    alice, bob = login(demo, "alice@tidewater.test"), login(demo, "bob@tidewater.test")
    summaries = {
        who.email: demo.request(
            "GET", f"/v1/users/{who.user_id}/summary", headers=carol.headers
        ).json()
        for who in (alice, bob)
    }
    for summary in summaries.values():
        assert summary["cgm"]["periods"]["14d"]["timeCGMUsePercent"] > 0.9
        assert "outdatedSince" not in summary["dates"]
    # Bob's demo data has lows, Alice's none: TIDE would flag Bob first.
    assert summaries["bob@tidewater.test"]["cgm"]["periods"]["14d"]["inVeryLow"]["percent"] > 0.01
    assert summaries["alice@tidewater.test"]["cgm"]["periods"]["14d"]["inVeryLow"]["percent"] == 0


def test_the_first_export_of_a_demo_stack_publishes_a_slice_for_the_researcher(
    demo: Stack,
) -> None:
    exported = demo.request("POST", "/_local/invoke/export")
    dana = login(demo, "dana@tidewater.test")
    listing = demo.request("GET", "/v1/donations/slices", headers=dana.headers)
    assert exported.status == 200 and exported.json()["slices"] >= 1
    (entry,) = listing.json()["data"]["slices"]
    assert entry["donors"] >= 5 and entry["rows"] > 0


def log_in(page: object, email: str) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.get_by_label("Email").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]


def test_the_app_is_served_at_the_root_and_api_routes_keep_precedence(demo: Stack) -> None:
    index, script = demo.request("GET", "/"), demo.request("GET", "/app.js")
    assert index.status == 200 and b"<title>Tidewater</title>" in index.body
    assert "script-src 'self'" in index.headers["Content-Security-Policy"]
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert demo.request("GET", "/status").status == 200
    assert demo.request("GET", "/../pyproject.toml").status == 404
    assert demo.request("GET", "/nothing.js").status == 404


def test_a_clinician_triages_lists_and_opens_a_patient(page) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    log_in(page, "carol@tidewater.test")
    # The only clinic opens on its TIDE view: the demo patients, each in their category.
    expect(page.get_by_role("heading", name=re.compile("TIDE triage"))).to_be_visible()
    very_low = page.locator('table[data-category="timeInVeryLowPercent"]')
    expect(very_low.get_by_role("link", name="Bob Patient")).to_be_visible()
    meeting = page.locator('table[data-category="meetingTargets"]')
    expect(meeting.get_by_role("link", name="Alice Patient")).to_be_visible()
    bar = very_low.get_by_role("img", name=re.compile(r"Time in ranges: Very low \d"))
    expect(bar).to_be_visible()
    assert "token" not in page.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tide.png"), full_page=True)
    page.get_by_role("radio", name="7 days").check()
    expect(page).to_have_url(re.compile(r"tide\?period=7d"))
    expect(page.get_by_text("over the last 7 days")).to_be_visible()

    # The list, sorted by time below range, worst first, kept in the URL.
    page.get_by_role("link", name="Patients", exact=True).click()
    table = page.locator("table.patients")
    expect(table.get_by_role("link", name="Alice Patient")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Sort by Any low")).click()
    expect(page).to_have_url(re.compile(r"sort=cgm\.timeInAnyLowPercent"))
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Any low")
    page.get_by_role("button", name=re.compile("^Sort by Any low")).click()
    expect(page).to_have_url(re.compile(r"sort=-cgm\.timeInAnyLowPercent"))
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Any low")
    names = table.locator("tbody th").all_inner_texts()
    assert names.index("Bob Patient") < names.index("Alice Patient")
    expect(page.get_by_text(re.compile(r"Showing 1.\d+ of \d+ matching"))).to_be_visible()
    bookmarked = page.url
    page.reload()
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Any low")
    assert page.url == bookmarked
    page.screenshot(path=str(SCREENSHOTS / "patients.png"), full_page=True)

    # A filter the API supports: in range below 70 % keeps Bob, not Alice.
    page.get_by_label("Filter on").select_option(label="In range")
    page.get_by_label("Comparison").select_option("<")
    page.get_by_label(re.compile("^Value")).fill("70")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"cgm\.timeInTargetPercent=%3C0\.7"))
    expect(table.get_by_role("link", name="Bob Patient")).to_be_visible()
    expect(table.get_by_role("link", name="Alice Patient")).to_have_count(0)

    # Bob's page: the AGP with its bands, the target shaded, the daily overlay, 14 days.
    table.get_by_role("link", name="Bob Patient").click()
    expect(page.get_by_role("heading", name="Bob Patient")).to_be_visible()
    agp = page.locator("svg#agp")
    expect(agp.locator("polygon.band-5-95").first).to_be_visible()
    expect(agp.locator("polygon.band-25-75").first).to_be_visible()
    expect(agp.locator("polyline.median").first).to_be_visible()
    expect(agp.locator("rect.target")).to_have_count(1)
    assert "mg/dL" in (agp.get_attribute("aria-label") or "")
    expect(page.get_by_role("radio", name="14 days")).to_be_checked()
    assert page.locator("figure.daily").count() >= 14
    expect(page.locator("table.glucose-stats")).to_contain_text("GMI")
    page.screenshot(path=str(SCREENSHOTS / "patient.png"), full_page=True)

    page.get_by_role("radio", name="7 days").check()
    expect(page).to_have_url(re.compile(r"days=7"))
    expect(page.get_by_text(re.compile(r"CGM report, 7 days"))).to_be_visible()
    assert 7 <= page.locator("figure.daily").count() <= 8
    page.get_by_role("radio", name="mmol/L").check()
    expect(page.locator("svg#agp")).to_have_attribute("aria-label", re.compile("mmol/L"))
    page.reload()  # the units are remembered
    expect(page.get_by_role("radio", name="mmol/L")).to_be_checked()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('tidewater.token')") is None


def test_a_patient_sees_only_their_own_page(page, demo: Stack) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    log_in(page, "alice@tidewater.test")
    expect(page.get_by_role("heading", name="Alice Patient")).to_be_visible()
    expect(page.locator("svg#agp polygon.band-5-95").first).to_be_visible()
    page.goto("/#/patient/de00000002")
    expect(page.get_by_role("alert")).to_have_text("You do not have access to this page.")
    page.goto("/#/clinics")
    expect(page.get_by_role("heading", name="Alice Patient")).to_be_visible()


def _in_range_text(data: list[dict]) -> str:
    """The summary the page must show, worked here from the API's answer: people, and the
    share of all their readings from 70 to 180 mg/dL."""
    values = [p["glucose"] for person in data for p in person["points"]]
    share = sum(70 <= v <= 180 for v in values) / len(values)
    return f"{len(data)} people, {share * 100:.1f}% of readings in range"


def test_the_population_page_shows_everyone_who_shares_and_refreshes_while_shown(page) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    page.clock.install()  # the page's minute timer runs on a clock the test moves
    log_in(page, "alice@tidewater.test")
    expect(page.get_by_role("heading", name="Alice Patient")).to_be_visible()
    with page.expect_response(re.compile(r"/v1/population\?hours=3$")) as answered:
        page.get_by_role("link", name="Population").click()
    data = answered.value.json()["data"]
    assert len(data) >= 5  # the demo's patients share
    expect(page.get_by_role("heading", name="Population")).to_be_visible()
    expect(page.locator("#population-summary")).to_contain_text(_in_range_text(data))
    chart = page.locator("svg#population-chart")
    expect(chart.locator("g.person")).to_have_count(len(data))
    hashes = {g.get_attribute("data-hash") for g in chart.locator("g.person").all()}
    assert hashes == {person["hash"] for person in data}
    assert chart.locator(f'g.person[data-hash="{data[0]["hash"]}"]').get_attribute("fill") == (
        f"#{data[0]['hash']}"
    )
    expect(chart.locator("circle")).to_have_count(sum(len(p["points"]) for p in data))
    assert re.search(
        r"in the target range \(70.180 mg/dL\)", chart.get_attribute("aria-label") or ""
    )
    assert "Alice" not in page.locator("main").inner_text()  # nobody is named
    page.screenshot(path=str(SCREENSHOTS / "population.png"), full_page=True)

    # A minute on, the page asks again by itself; another window is another question.
    with page.expect_response(re.compile(r"/v1/population\?hours=3$")):
        page.clock.run_for(61_000)
    with page.expect_response(re.compile(r"/v1/population\?hours=24$")) as wider:
        page.get_by_role("radio", name="24 h").check()
    expect(page.locator("#population-summary")).to_contain_text(
        _in_range_text(wider.value.json()["data"])
    )
    # Another page: the timer is gone, nothing more is asked.
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.get_by_role("link", name="My data").click()
    expect(page.get_by_role("heading", name="Alice Patient")).to_be_visible()
    page.clock.run_for(180_000)
    assert not [url for url in asked if "/v1/population" in url]


def test_a_patient_page_overlays_two_cgm_sources_with_their_agreement(page) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    with page.expect_response(re.compile(r"/sources/compare\?days=14$")) as answered:
        log_in(page, "alice@tidewater.test")
    compared = answered.value.json()["data"]
    devices = [source["deviceId"] for source in compared["sources"]]
    assert len(devices) == 2 and len(compared["pairs"]) == 1  # the demo's DIY uploader too
    section = page.locator("section", has=page.get_by_role("heading", name="CGM sources"))
    expect(section.locator(".sources-legend li")).to_have_count(2)
    for device in devices:
        expect(
            section.locator(f'polyline.source-line[data-device="{device}"]').first
        ).to_be_visible()
        expect(section.locator(".sources-legend")).to_contain_text(device)
    pair = compared["pairs"][0]
    row = section.locator("table.sources-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text(str(pair["pairs"]))
    expect(row).to_contain_text(f"{pair['mardFirstToSecond'] * 100:.1f}%")
    section.screenshot(path=str(SCREENSHOTS / "sources.png"))
