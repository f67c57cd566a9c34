"""A headless Chromium driven over the DevTools protocol, for the browser tests.

No driver package: Chromium started with --remote-debugging-pipe reads commands on file
descriptor 3 and writes answers on 4, each a JSON message ended by a NUL byte. That is
enough to open a page, run JavaScript in it, click with the mouse, type, and take a
screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The browser's executable on the PATH (Debian's package is `chromium`)."""
    return next((path for name in NAMES if (path := shutil.which(name))), None)


class Browser:
    """`with Browser(exe) as b: b.open(path); b.evaluate("1 + 1")`."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900) -> None:
        self.executable, self.size = executable, (width, height)
        self._id = 0
        self._buffer = b""
        self.session: str | None = None

    def __enter__(self) -> Browser:
        to_browser, self._write = os.pipe()  # our writes arrive on the browser's fd 3
        self._read, from_browser = os.pipe()  # the browser's fd 4 arrives here
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")

        def descriptors() -> None:  # in the child, before exec
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [
                self.executable,
                "--headless=new",
                "--remote-debugging-pipe",
                "--no-sandbox",  # the tests may run as root, in a container
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--allow-file-access-from-files",
                f"--window-size={self.size[0]},{self.size[1]}",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            preexec_fn=descriptors,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close", session=False)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _message(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed its pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = True, timeout: float = 30, **params: Any) -> dict:
        """Send a command and wait for its answer (events in between are dropped)."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message(timeout)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def open(self, path: Path) -> None:
        """Open a local file in a new tab and wait until it has loaded."""
        url = path.resolve().as_uri()
        target = self.call("Target.createTarget", session=False, url=url)
        attached = self.call(
            "Target.attachToTarget", session=False, targetId=target["targetId"], flatten=True
        )
        self.session = attached["sessionId"]
        deadline = time.monotonic() + 30
        # (a new tab is about:blank, "complete", before the file's page replaces it)
        while self.evaluate("location.href + ' ' + document.readyState") != f"{url} complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not finish loading")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able values)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view first)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type(self, text: str) -> None:
        """Type text into the element that has the focus."""
        self.call("Input.insertText", text=text)

    def screenshot(self, target: Path) -> Path:
        """A PNG of the whole page."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        target.write_bytes(base64.b64decode(data["data"]))
        return target
