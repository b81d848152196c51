"""The playground page at `/`, clicked through in a real headless Chromium against a real `rlvr serve`.

The browser is the system's Chromium (`apt-get install chromium`; `make install` installs it when root);
Playwright only drives it. Without it these tests fail, saying how to install it: they never skip.
"""

import fnmatch
import json
import shutil
import tomllib
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.procs import REPO, free_port, launch

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WAIT_MS = 60_000  # the first code sample starts the private sandbox
KEY = "pl4yground-key"
ADD = "Here it is:\n```python\ndef add(a, b):\n    return {body}\n```"
ADD_TESTS = {"tests": [{"type": "call", "fn_name": "add", "args": [2, 3], "expected": 5},
                       {"type": "call", "fn_name": "add", "args": [-1, 1], "expected": 0}]}


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    pytest.fail("no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + "): the playground's browser "
                "tests need one. Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu; `make install` "
                "does this when run as root), or put a Chromium or Chrome binary on PATH.", pytrace=False)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    yield page
    context.close()


@pytest.fixture(scope="module")
def keyed_server():
    with launch(["serve", "--workers", "1"], free_port(), env={"RLVR_API_KEY": KEY}) as url:
        yield url


def open_page(page: Page, url: str) -> list[str]:
    """Load the playground and return the list that collects every URL the page requests from now on."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url + "/")
    return requested


def scored(page: Page, grader: str) -> int:
    """The `scored` counter of one grader's row in the live counters (0 without a row yet)."""
    row = page.locator(f'#counters tr[data-grader="{grader}"] td:nth-child(2)')
    return int(row.inner_text()) if row.count() else 0


def score(page: Page, completion: str, reference: str, *, kind: str = "text") -> None:
    page.fill("#completion", completion)
    page.select_option("#reference-kind", kind)
    page.fill("#reference", reference)
    page.click("#score")


def test_math_example_with_a_named_grader(server, page):
    requested = open_page(page, server)
    expect(page.locator("#grader option[value='name:boxed_math']")).to_have_count(1)
    expect(page.locator("#counters tbody")).to_be_attached()
    page.wait_for_function("document.querySelector('#pool').textContent.startsWith('workers 2')")
    before = scored(page, "boxed_math")

    page.select_option("#grader", "name:boxed_math")
    assert json.loads(page.input_value("#spec"))["type"] == "math"
    assert page.locator("#spec").get_attribute("readonly") is not None  # a named grader is shown, not edited
    score(page, "Adding the two gives 14, so the answer is $\\boxed{14}$.", "14")

    expect(page.locator("#reward")).to_have_text("1")
    expect(page.locator("#answer")).to_have_text("14")
    expect(page.locator("#error")).to_have_text("none")
    assert json.loads(page.inner_text("#details"))["answer"] == "14"
    expect(page.locator('#counters tr[data-grader="boxed_math"] td:nth-child(2)')).to_have_text(str(before + 1))
    assert page.inner_text('#counters tr[data-grader="boxed_math"] td:nth-child(3)') != "-"

    score(page, "So it is $\\boxed{15}$.", "14")
    expect(page.locator("#answer")).to_have_text("15")
    expect(page.locator("#reward")).to_have_text("0")
    assert json.loads(page.inner_text("#details"))["reason"] == "not equal"
    assert all(url.startswith(server + "/") for url in requested), requested  # nothing from elsewhere: works offline


def test_code_example_runs_in_the_sandbox(server, page):
    open_page(page, server)
    page.select_option("#grader", "type:code")
    assert json.loads(page.input_value("#spec")) == {"type": "code"}
    page.fill("#spec", '{"type": "code", "language": "python"}')

    score(page, ADD.format(body="a + b"), json.dumps(ADD_TESTS), kind="json")
    expect(page.locator("#reward")).to_have_text("1")
    expect(page.locator("#answer")).to_contain_text("code from block #0")
    expect(page.locator("#answer")).to_contain_text("passed 2 of 2 tests")
    expect(page.locator("#error")).to_have_text("none")
    expect(page.locator('#counters tr[data-grader="code"]')).to_be_attached()

    score(page, ADD.format(body="a * b + 1"), json.dumps(ADD_TESTS), kind="json")  # right for (-1, 1) only
    expect(page.locator("#reward")).to_have_text("0.5")
    details = json.loads(page.inner_text("#details"))
    assert details["passed"] == 1 and details["first_failure"]["index"] == 0


def test_model_output_is_shown_as_text(server, page):
    open_page(page, server)
    score(page, 'the answer is $\\boxed{<img src=x id="injected">}$', "1")
    expect(page.locator("#answer")).to_contain_text('<img src=x id="injected">')
    assert page.locator("#injected").count() == 0


def test_bad_requests_are_explained(server, page):
    open_page(page, server)
    page.select_option("#grader", "custom")
    page.fill("#spec", '{"type": "math", ')
    score(page, "x", "1")
    expect(page.locator("#form-error")).to_contain_text("the spec is not valid JSON")
    page.fill("#spec", '{"type": "no_such_grader"}')
    page.click("#score")
    expect(page.locator("#form-error")).to_contain_text("422: body.grader")


def test_api_key_is_asked_for_and_sent(keyed_server, page):
    assert httpx.get(keyed_server + "/").status_code == 200  # the page's files hold no data
    for path in ("/v1/graders", "/metrics"):
        assert httpx.get(keyed_server + path).status_code == 401
    open_page(page, keyed_server)
    expect(page.locator("#key-form")).to_be_visible()
    expect(page.locator("#main")).to_be_hidden()

    page.fill("#key", "wrong")
    page.click("#key-submit")
    expect(page.locator("#key-error")).to_have_text("the service refused this key")
    expect(page.locator("#main")).to_be_hidden()

    page.fill("#key", KEY)
    page.click("#key-submit")
    expect(page.locator("#main")).to_be_visible()
    score(page, "\\boxed{7}", "7")
    expect(page.locator("#reward")).to_have_text("1")
    expect(page.locator('#counters tr[data-grader="math"] td:nth-child(2)')).to_have_text("1")


def test_page_headers_forbid_foreign_scripts(server):
    r = httpx.get(server + "/playground/app.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert httpx.get(server + "/playground/nothing.js").status_code == 404


def test_setuptools_ships_the_static_files():
    shipped = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = shipped["rewards.playground"]
    static = [p.name for p in Path(REPO / "rewards" / "playground").iterdir() if p.suffix != ".py" and p.is_file()]
    assert {"index.html", "app.js", "style.css"} <= set(static)
    for name in static:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name
