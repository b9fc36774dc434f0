"""make docs-browser: open the built site (docs/site) in headless Chromium, as a reader would.

From the V1 index it follows the links to the Signal guide, to both SDK references (and on to
the TypeDoc and rustdoc pages), checks that every page renders (a title, no 404, the text it
must show), and takes screenshots of the index and the Signal guide into
target/docs-screenshots/ (git-ignored).

Usage: python docs/scripts/browser.py [CHROMIUM]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "docs/site"
SHOTS = ROOT / "target/docs-screenshots"


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.title = ""
        self._in_title = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.text.append(data)


def chromium_cmd(binary: str, profile: str) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={profile}", "--virtual-time-budget=3000"]


def load(binary: str, profile: str, url: str) -> Page:
    out = subprocess.run([*chromium_cmd(binary, profile), "--dump-dom", url], capture_output=True, text=True, timeout=90)
    p = Page()
    p.feed(out.stdout)
    if not out.stdout.strip():
        raise SystemExit(f"docs-browser: Chromium rendered nothing for {url}: {out.stderr[-500:]}")
    return p


def follow(page: Page, base: str, pattern: str) -> str:
    """The absolute URL of the first link on ``page`` whose target matches ``pattern``."""
    for href in page.links:
        target = urljoin(base, href)
        if re.search(pattern, urlparse(target).path):
            return target
    raise SystemExit(f"docs-browser: no link matching {pattern!r} on {base}")


def main() -> int:
    binary = sys.argv[1] if len(sys.argv) > 1 else (shutil.which("chromium") or shutil.which("chromium-browser") or "")
    if not binary:
        raise SystemExit("docs-browser: no chromium on PATH (apt-get install chromium)")
    if not (SITE / "index.html").is_file():
        raise SystemExit("docs-browser: docs/site is not built (make docs)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    checks: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory() as profile:
        def visit(url: str, must: str, hops: int) -> Page:
            path = Path(unquote(urlparse(url).path))
            page = load(binary, profile, url)
            text = " ".join(page.text)
            ok = path.is_file() and bool(page.title.strip()) and "404" not in page.title and must in text
            checks.append((f"{path.relative_to(SITE)} ({hops} link{'s' if hops != 1 else ''} from the index): "
                           f"title {page.title.strip()!r}, shows {must!r}", ok, url))
            return page

        index_url = (SITE / "index.html").as_uri()
        index = visit(index_url, "V1 documentation index", 0)
        signal_url = follow(index, index_url, r"/guides/signal\.html$")
        signal = visit(signal_url, "reputation_receipt", 1)
        py_url = follow(index, index_url, r"/reference/python\.html$")
        visit(py_url, "GatewaySignalClient", 1)
        node_url = follow(index, index_url, r"/reference/node\.html$")
        node = visit(node_url, "reputationReceipt", 1)
        typedoc_url = follow(node, node_url, r"/api/node/classes/index\.GatewaySignalClient\.html$")
        visit(typedoc_url, "reputationReceipt", 2)
        rust_url = follow(index, index_url, r"/reference/rust\.html$")
        rust = visit(rust_url, "rustdoc", 1)
        rustdoc_url = follow(rust, rust_url, r"/api/rust/paybond_kit/index\.html$")
        visit(rustdoc_url, "paybond_kit", 2)
        # The Signal guide links back to both SDK references' Signal sections.
        follow(signal, signal_url, r"/reference/python\.html$")
        follow(signal, signal_url, r"/reference/node\.html$")

        for name, url in (("index", index_url), ("signal-guide", signal_url)):
            shot = SHOTS / f"{name}.png"
            subprocess.run([*chromium_cmd(binary, profile), "--hide-scrollbars", "--window-size=1280,1800",
                            f"--screenshot={shot}", url], capture_output=True, timeout=90)
            checks.append((f"screenshot {shot.relative_to(ROOT)}", shot.is_file() and shot.stat().st_size > 10_000, url))

    for name, ok, _ in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    failed = sum(not ok for _, ok, _ in checks)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
