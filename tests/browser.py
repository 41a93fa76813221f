"""Shared helpers for tests that drive Debian's headless ``chromium`` with Playwright.

The Playwright wheel brings its own driver; the browser is the system's (no download). A test
module makes its own ``browser`` fixture from :func:`launch`, which skips the test when chromium or
Playwright is missing. :func:`open_context` opens a phone- or desktop-sized context whose pages
are all watched: console errors, uncaught page errors and Content-Security-Policy violations are
collected, and :meth:`PageProblems.check` fails the test on any of them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Screenshots and pages saved for people to look at.
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

Device = Literal["phone", "desktop"]

#: Context options per device: a 390 x 844 touch phone, a 1280 x 900 desktop.
DEVICES: dict[Device, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "desktop": {"viewport": {"width": 1280, "height": 900}},
}

#: Runs in every document before the page's own scripts (it is not subject to the page's CSP):
#: reports each CSP violation on the console, where :class:`PageProblems` picks it up. Documents
#: sandboxed without scripts (a served report.html) do not run it; Chromium still logs their
#: violations on the console itself.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
});
"""


def chromium_path() -> str | None:
    """Debian's chromium, or the browser named by ``KNEEBACK_CHROMIUM``."""
    chosen = os.environ.get("KNEEBACK_CHROMIUM")
    if chosen is not None:
        return chosen if Path(chosen).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@contextmanager
def launch() -> Iterator[Any]:
    """Start headless chromium; skip the test when chromium or Playwright is missing."""
    exe = chromium_path()
    if exe is None:
        pytest.skip("chromium is not installed (scripts/system-deps.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What went wrong in the pages of one context, and every URL they requested."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        """Collect ``page``'s console errors, uncaught errors, CSP violations and requests."""

        def on_console(message: Any) -> None:
            if message.type != "error":
                return
            text = f"{page.url}: {message.text}"
            if "Content Security Policy" in message.text or "CSP violation" in message.text:
                self.csp_violations.append(text)
            else:
                self.console_errors.append(text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))

    @property
    def all(self) -> list[str]:
        """Every problem, labelled."""
        return (
            [f"console error: {e}" for e in self.console_errors]
            + [f"page error: {e}" for e in self.page_errors]
            + [f"CSP violation: {e}" for e in self.csp_violations]
        )

    def check(self) -> None:
        """Fail the test if any page had a console error, a page error or a CSP violation."""
        assert self.all == [], "\n".join(self.all)


@contextmanager
def open_context(
    browser: Any, device: Device = "desktop", **options: Any
) -> Iterator[tuple[Any, PageProblems]]:
    """Open a browser context sized for ``device``; every page it opens is watched.

    Yields the context and its :class:`PageProblems` (call ``check()`` at the end of the test);
    the context is closed on exit.
    """
    ctx = browser.new_context(**(DEVICES[device] | options))
    problems = PageProblems()
    ctx.add_init_script(_CSP_LISTENER)
    ctx.on("page", problems.watch)
    try:
        yield ctx, problems
    finally:
        ctx.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` as ``test-artifacts/NAME`` and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path
