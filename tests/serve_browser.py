#!/usr/bin/env python3
"""The page of `mnistcl serve` in a real browser: digits drawn with the mouse get the
guesses `mnistcl predict` gives for the same test images.

usage: serve_browser.py MNISTCL MODEL DATA_DIR

Drives headless Chromium through Debian's chromedriver (W3C WebDriver over HTTP, with
urllib). For test images 0..3: clears the canvas, then for each row of the 28x28 image
draws a stroke along each run of pixels >= 128 (W3C pointer actions, pointerType mouse,
scaled to the 280x280 canvas), waits until #guess shows the answer for the finished
drawing, and compares it with the guess line of `mnistcl predict --model M --index i`:
equal. Then the test-set browser: index 3 shows label 0; "Next mistake" goes to the
first index of /api/mistakes and marks it wrong. Screenshots the page into $OUT (or a
temporary folder, removed after; $SERVE_SCREENSHOT names another file) and checks it is
a PNG.
SIGINT stops the server with exit 130.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_common import (Server, check, fail, finish, mnist_test_images, ok,  # noqa: E402
                          predict_guess, require)

MNISTCL, MODEL, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
CHROMEDRIVER, CHROMIUM = "/usr/bin/chromedriver", "/usr/bin/chromium"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element reference key
INDICES = [0, 1, 2, 3]
CANVAS, CELL = 280, 10  # the page's canvas side, canvas pixels per image pixel


class WebDriver:
    """The few W3C WebDriver commands this test needs."""

    def __init__(self, profile):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % port
        for _ in range(200):
            try:
                if self.call("GET", "/status").get("ready"):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("chromedriver did not start")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,720",
                         "--user-data-dir=" + profile, "--no-first-run",
                         "--disable-extensions", "--force-device-scale-factor=1"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError("WebDriver %s %s: %s" % (method, path, e.read()[:400]))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def wait(self, script, what, timeout=30):
        """Polls script until it returns something true; returns that."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            v = self.js(script)
            if v:
                return v
            time.sleep(0.05)
        raise RuntimeError("timed out waiting for " + what)

    def quit(self):
        try:
            self.call("DELETE", "/session/" + self.session)
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def strokes(image):
    """Per row, the runs of pixels >= 128 as (row, first column, last column)."""
    runs = []
    for r in range(28):
        c = 0
        while c < 28:
            if image[r * 28 + c] >= 128:
                start = c
                while c + 1 < 28 and image[r * 28 + c + 1] >= 128:
                    c += 1
                runs.append((r, start, c))
            c += 1
    return runs


def draw(wd, canvas, image):
    """Draws the runs of image on the canvas with one pointer action sequence."""
    def at(col, row):  # the offset from the canvas' centre of an image pixel's centre
        return {"type": "pointerMove", "duration": 0, "origin": {ELEMENT: canvas},
                "x": col * CELL + CELL // 2 - CANVAS // 2,
                "y": row * CELL + CELL // 2 - CANVAS // 2}
    acts = []
    for r, c0, c1 in strokes(image):
        acts += [at(c0, r), {"type": "pointerDown", "button": 0}]
        if c1 != c0:
            move = at(c1, r)
            move["duration"] = 20
            acts.append(move)
        acts.append({"type": "pointerUp", "button": 0})
    wd.s("POST", "/actions", {"actions": [{
        "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
        "actions": acts}]})
    wd.s("DELETE", "/actions")


def main():
    require(os.access(CHROMEDRIVER, os.X_OK), "no %s (Debian: chromium-driver)" % CHROMEDRIVER)
    require(os.access(CHROMIUM, os.X_OK), "no %s (Debian: chromium)" % CHROMIUM)
    images, labels = mnist_test_images(DATA)
    want = {i: predict_guess(MNISTCL, MODEL, DATA, i) for i in INDICES}
    srv = Server(MNISTCL, MODEL, "--data", DATA)
    ok("serve started at %s" % srv.url)
    profile = tempfile.mkdtemp(prefix="mnistcl-chromium-")
    wd = None
    try:
        wd = WebDriver(profile)
        wd.s("POST", "/url", {"url": srv.url})
        wd.wait("return document.body.dataset.ready === '1'", "the page to load /api/info")
        size = wd.js("const r = document.getElementById('pad').getBoundingClientRect();"
                     "return [r.width, r.height];")
        check(size == [CANVAS, CANVAS], "the canvas is %sx%s CSS pixels" % tuple(size))
        canvas = wd.find("#pad")
        for i in INDICES:
            wd.click("#clear")
            draw(wd, canvas, images[i])
            got = wd.wait(
                "const g = document.getElementById('guess');"
                "return g.dataset.version === document.body.dataset.drawn && g.textContent"
                " ? g.textContent : null;", "the guess for image %d" % i)
            check(got == str(want[i]),
                  "test image %d (label %d) drawn in %d strokes: the page guesses %s, "
                  "`mnistcl predict --index %d` %d" %
                  (i, labels[i], len(strokes(images[i])), got, i, want[i]))
        bars = wd.js("return document.querySelectorAll('#bars li').length")
        check(bars == 10, "ten output bars shown (%s)" % bars)
        seen = wd.js("const c = document.getElementById('seen').getContext('2d');"
                     "const d = c.getImageData(0, 0, 28, 28).data; let n = 0;"
                     "for (let k = 0; k < d.length; k += 4) n += d[k] > 0; return n;")
        check(seen > 50, "the 28x28 image the network sees is shown (%d lit pixels)" % seen)

        # the test-set browser
        wd.js("const e = document.getElementById('index'); e.value = 3;"
              "e.dispatchEvent(new Event('change'));")
        wd.wait("return document.getElementById('test-label').textContent === 'Label: 0'",
                "test image 3's label")
        ok("index 3 shows label 0")
        with urllib.request.urlopen(srv.url + "api/mistakes", timeout=30) as r:
            mistakes = json.loads(r.read())["indices"]
        first = next((m for m in mistakes if m > 3), mistakes[0] if mistakes else None)
        if first is not None:
            wd.click("#next-mistake")
            shown = wd.wait("const v = document.getElementById('test-verdict').textContent;"
                            "const i = document.getElementById('index').value;"
                            "return v === 'wrong' && i !== '3' ? i : null;",
                            "the next mistake")
            check(shown == str(first), "Next mistake goes to test image %s (want %d)" %
                  (shown, first))
        else:
            fail("the model makes no mistake: the browser's Next mistake is untested")

        # $SERVE_SCREENSHOT, else $OUT/serve_page.png, else one in the profile's folder
        # (removed at the end)
        out_dir = os.environ.get("OUT") or profile
        path = os.environ.get("SERVE_SCREENSHOT") or os.path.join(out_dir, "serve_page.png")
        png = base64.b64decode(wd.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        check(png[:8] == b"\x89PNG\r\n\x1a\n", "screenshot %s (%d KB)" % (path, len(png) // 1024))
    finally:
        if wd:
            wd.quit()
        shutil.rmtree(profile, ignore_errors=True)
        rc, out = srv.stop(signal.SIGINT)
    check(rc == 130 and "stopped by SIGINT" in out, "SIGINT: clean stop, exit %s" % rc)
    finish()


main()
