"""What the browser tests share: Debian's chromium, the app started with `streamlit run app.py` over a lake,
and a 1400-pixel-wide tab. Importing it skips the importing test module when chromium is missing (outside CI)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from support import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: .ci/run installs it with apt-get")
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

# True once the app's script has finished its run (Streamlit marks it on the app's root element).
SETTLED = "() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(lake: Path, log_folder: Path, *, start_seconds: float = 120) -> Iterator[str]:
    """`streamlit run app.py` over `lake` on a free loopback port; yields its address, stops it after."""
    port = free_port()
    log = open(Path(log_folder) / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env={**os.environ, "ASSAY_LAKE": str(lake)}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + start_seconds
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log.name}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@contextmanager
def chromium_tab(*, height: int = 1000, timeout_ms: int = 60_000):
    """A Chromium tab 1400 pixels wide (Playwright driving Debian's chromium)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": height})
            tab.set_default_timeout(timeout_ms)
            yield tab
        finally:
            browser.close()
