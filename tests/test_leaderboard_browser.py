"""The generated index.html in a real headless Chromium, opened from disk.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ending
in a NUL byte on file descriptors 3 and 4), which needs no driver or extra package.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cgbench.leaderboard import build_leaderboard

RESULTS = Path(__file__).parent / "fixtures" / "results"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((path for path in map(shutil.which, BROWSERS) if path), None)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]

# CI installs Chromium and sets CGBENCH_REQUIRE_BROWSER, so a missing browser fails there instead of skipping.
if BROWSER is None and os.environ.get("CGBENCH_REQUIRE_BROWSER"):
    pytest.fail("CGBENCH_REQUIRE_BROWSER is set but no chromium binary was found", pytrace=False)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium binary (Debian: apt-get install chromium)")


class Chromium:
    """A headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str, profile: Path, log: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds() -> None:  # the browser reads commands on fd 3 and writes replies on fd 4
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                preexec_fn=child_fds,
                close_fds=False,  # our own pipe ends are non-inheritable and close on exec anyway
            )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, **params) -> dict:
        return self.call(method, session=self.session, **params)

    def navigate(self, url: str, timeout: float = 30) -> None:
        """Open ``url`` and wait until it has loaded (load events of earlier pages are dropped first)."""
        self.events = [m for m in self.events if m.get("method") != "Page.loadEventFired"]
        self.page("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", timeout)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.events:
                if message.get("method") == event:
                    return message
            self.events.append(self._receive(deadline))

    def evaluate(self, expression: str):
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the centre of the element."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center', inline: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.page("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads reported so far."""
        found = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        return found

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError, EOFError, TimeoutError):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The page built from the fixture results, loaded from disk in Chromium."""
    root = tmp_path_factory.mktemp("browser")
    build_leaderboard(RESULTS, root / "leaderboard")
    browser = Chromium(BROWSER, root / "profile", root / "chromium.log")
    try:
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            browser.page(domain)
        browser.page("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        browser.page("Page.navigate", url=(root / "leaderboard" / "index.html").as_uri())
        browser.wait_for("Page.loadEventFired")
        yield browser, root
    finally:
        browser.close()


def _column(browser: Chromium, index: int) -> list[str]:
    return browser.evaluate(
        f"Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.cells[{index}].textContent)"
    )


def test_page_loads_without_console_errors(loaded):
    browser, _ = loaded
    assert browser.evaluate("document.title") == "cgbench leaderboard"
    assert browser.evaluate("document.querySelectorAll('#leaderboard tbody tr').length") == 3
    assert browser.evaluate("document.querySelector('#reported').textContent") == "Reported, not reproduced"
    assert browser.errors() == []


def test_every_image_loads(loaded):
    browser, _ = loaded
    images = browser.evaluate(
        "Promise.all(Array.from(document.images).map(i => i.decode().then(() => [i.src, i.naturalWidth],"
        " () => [i.src, 0])))"
    )
    assert len(images) == 8  # headline, three sets, heatmap, consistency, gap, and alpha-guard's categories
    assert all(width > 0 for _, width in images), images
    assert browser.errors() == []


def test_clicking_a_header_sorts_the_table(loaded):
    browser, _ = loaded
    assert _column(browser, 2) == ["alpha-guard", "beta-guard", "gamma_guard"]  # ranked by macro-F1
    gap_index = browser.evaluate("document.querySelector('#col-f1_gap').cellIndex")
    browser.click("#col-f1_gap")
    assert _column(browser, 2) == ["gamma_guard", "alpha-guard", "beta-guard"]  # smallest gap first
    assert _column(browser, gap_index) == ["7.3", "12.0", "25.3"]
    assert browser.evaluate("document.querySelector('#col-f1_gap').getAttribute('aria-sort')") == "ascending"
    browser.click("#col-f1_gap")
    assert _column(browser, 2) == ["beta-guard", "alpha-guard", "gamma_guard"]
    browser.click("#leaderboard thead tr:last-child th:nth-child(3)")  # guard names, A to Z
    assert _column(browser, 2) == ["alpha-guard", "beta-guard", "gamma_guard"]
    assert browser.errors() == []


def test_intervals_show_with_their_bounds_on_hover(loaded):
    browser, _ = loaded
    index = browser.evaluate("document.querySelector('#col-f1_toxicchat_ja').cellIndex")
    cells = browser.evaluate(
        f"Array.from(document.querySelectorAll('#by-split-table tbody tr')).map(r => [r.cells[{index}].textContent,"
        f" r.cells[{index}].title])"
    )
    assert cells[0] == [
        "64.3 ±3.0▼",
        "95% CI 61.3–67.3; vs en -11.4 points [-14.4, -8.4], bootstrap p (Holm) <0.001, McNemar p (Holm) <0.001; "
        "significant at 5%",
    ]
    assert cells[2][0] == "–"  # gamma_guard has no Japanese split
    visible = browser.evaluate(
        "Array.from(document.querySelectorAll('#by-split-table tbody td.num')).filter(c => /±|\\[/.test(c.textContent)"
        " && c.getBoundingClientRect().width > 0).length"
    )
    assert visible >= 45  # every split and set average of the three runs that has an interval


def test_significance_marks_are_coloured_by_direction(loaded):
    browser, _ = loaded
    marks = browser.evaluate("Array.from(document.querySelectorAll('#by-split-table .sig')).map(e => e.textContent)")
    assert marks and set(marks) <= {"▲", "▼"}
    color = browser.evaluate("getComputedStyle(document.querySelector('#by-split-table .sig.down')).color")
    assert color == "rgb(207, 34, 46)"  # red: below English
    significant = browser.evaluate("document.querySelectorAll('.gaps-table tr.sig').length")
    rows = browser.evaluate("document.querySelectorAll('.gaps-table tbody tr').length")
    assert 0 < significant < rows == 30  # alpha and beta: 3 sets x 5 languages; gamma has no tests


def test_category_heatmap_and_table_show(loaded):
    browser, _ = loaded
    heatmap = browser.evaluate(
        "(() => { const i = document.querySelector('img[alt=\"category_recall_alpha-guard\"]');"
        " i.scrollIntoView(); const r = i.getBoundingClientRect();"
        " return [i.complete, i.naturalWidth, r.width, r.height]; })()"
    )
    assert heatmap[0] and heatmap[1] > 300 and heatmap[2] > 300 and heatmap[3] > 200
    assert browser.evaluate("document.querySelector('#categories').textContent") == "Recall by harm category"
    assert browser.evaluate("document.querySelectorAll('.category-table tbody tr').length") == 13


def test_reported_markers_are_drawn(loaded):
    """The bar chart's SVG holds a hollow marker series per published guard, and the error bars."""
    browser, root = loaded
    svg = root / "leaderboard" / "plots" / "f1_by_language_openai_moderation.svg"
    browser.navigate(svg.as_uri())
    ids = browser.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert {"reported-ConsistentGuard", "reported-Llama-Guard-3-8B-47a99cba", "ci-0", "ci-1", "ci-2"} <= set(ids)
    markers = browser.evaluate(
        "document.querySelectorAll('#reported-ConsistentGuard use, #reported-ConsistentGuard path').length"
    )
    assert markers >= 3  # en, bn, hi
    browser.navigate((root / "leaderboard" / "index.html").as_uri())


def test_screenshot_is_written(loaded):
    browser, root = loaded
    browser.evaluate("window.scrollTo(0, 0)")
    shot = root / "leaderboard.png"
    shot.write_bytes(base64.b64decode(browser.page("Page.captureScreenshot", format="png")["data"]))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 1000)
