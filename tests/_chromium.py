"""A very small Chrome DevTools Protocol client for tests: headless Chromium over a pipe.

Chromium started with ``--remote-debugging-pipe`` reads protocol commands on its file
descriptor 3 and writes replies and events on 4, each a JSON text ended by a NUL byte. So no
WebSocket library and no browser download are needed: the Debian ``chromium`` package (CI
installs it in ``.ci/run``) and the standard library are enough.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MISSING_MESSAGE = ("no Chromium found (looked for " + ", ".join(CHROMIUM_NAMES) + "): the "
                   "browser test needs Debian's chromium package: apt-get install -y chromium "
                   "(CI's .ci/run installs it), or set STSDETECT_CHROMIUM to a Chromium binary")


def find_chromium() -> str | None:
    """Path of a Chromium binary: ``$STSDETECT_CHROMIUM`` or the first on PATH."""
    given = os.environ.get("STSDETECT_CHROMIUM")
    if given:
        return given
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _high_fd(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or more; ``fd`` is closed."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class ProtocolError(RuntimeError):
    """A DevTools command failed, or the browser did not answer in time."""


class Browser:
    """Headless Chromium with one page, driven through the DevTools protocol."""

    def __init__(self, binary: str, width: int = 1200, height: int = 900,
                 timeout_s: float = 60.0):
        self.timeout_s = timeout_s
        self._profile = tempfile.TemporaryDirectory(prefix="stsdetect-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        # The child's ends moved to descriptors >= 10, so that putting them on 3 and 4
        # cannot overwrite one with the other (when pipe() returned 3 or 4).
        cmd_r, out_w = (_high_fd(cmd_r), _high_fd(out_w))
        args = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--mute-audio",
                "--hide-scrollbars", f"--user-data-dir={self._profile.name}",
                f"--window-size={width},{height}", "about:blank"]
        def to_3_and_4():  # in the child, before exec: Chromium's protocol descriptors
            os.dup2(cmd_r, 3)
            os.dup2(out_w, 4)

        self._proc = subprocess.Popen(
            # Descriptors Python opens are not inherited (PEP 446), so close_fds=False
            # hands the child only its standard streams and the two set by to_3_and_4.
            [binary, *args], close_fds=False, preexec_fn=to_3_and_4,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(cmd_r)
        os.close(out_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session = None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    # ------------------------------------------------------------------ protocol
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("Chromium did not answer in time")
            ready, _, _ = select.select([self._out_r], [], [], left)
            if ready:
                chunk = os.read(self._out_r, 1 << 16)
                if not chunk:
                    err = self._proc.stderr.read().decode(errors="replace")[-2000:]
                    raise ProtocolError(f"Chromium closed the pipe; its stderr ends:\n{err}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None) -> dict:
        """Send one command and return its result; events read meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ProtocolError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, timeout_s: float | None = None) -> dict:
        """The first event named ``method`` (already received or still to come)."""
        for i, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(i)
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            message = self._read_message(deadline)
            if message.get("method") == method:
                return message
            if "method" in message:
                self.events.append(message)

    # ------------------------------------------------------------------ page helpers
    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise ProtocolError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def mouse(self, kind: str, x: float, y: float, **extra) -> None:
        """One mouse event at viewport coordinates (``mouseMoved``, ``mousePressed``, ...)."""
        params = {"type": kind, "x": x, "y": y, **extra}
        if kind in ("mousePressed", "mouseReleased"):
            params.setdefault("button", "left")
            params.setdefault("clickCount", 1)
        self.send("Input.dispatchMouseEvent", params)

    def click(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"})["data"])

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        # Read whatever has arrived without waiting.
        while True:
            ready, _, _ = select.select([self._out_r], [], [], 0.2)
            if not ready:
                break
            chunk = os.read(self._out_r, 1 << 16)
            if not chunk:
                break
            self._buffer += chunk
        while b"\0" in self._buffer:
            message, self._buffer = self._buffer.split(b"\0", 1)
            message = json.loads(message)
            if "method" in message:
                self.events.append(message)
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif (event["method"] == "Runtime.consoleAPICalled"
                  and params.get("type") in ("error", "assert")):
                found.append(json.dumps(params.get("args", []))[:500])
            elif (event["method"] == "Log.entryAdded"
                  and params.get("entry", {}).get("level") == "error"):
                found.append(params["entry"].get("text", "")[:500])
        return found

    def close(self) -> None:
        try:
            self.session = None
            self.send("Browser.close")
        except (ProtocolError, OSError):
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._cmd_w, self._out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._proc.stderr:
            self._proc.stderr.close()
        self._profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
