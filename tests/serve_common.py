"""Pieces shared by the tests of `mnistcl serve` (serve_browser.py, serve_load.py).

Standard library only. A requirement that is missing (libmicrohttpd in this build,
chromium, chromedriver) skips the test (exit 77) outside CI and fails it under CI=true.
"""
import os
import re
import select
import signal
import subprocess
import sys
import time

fails = 0


def ok(msg):
    print("ok ", msg, flush=True)


def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg, flush=True)


def check(cond, msg):
    """ok or fail by cond; returns cond."""
    (ok if cond else fail)(msg)
    return cond


def finish():
    """The summary line and the exit code."""
    if fails:
        print("FAILED: %d check(s)" % fails)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def require(cond, what):
    """A missing requirement: skip (77) outside CI, fail in CI."""
    if cond:
        return
    if os.environ.get("CI", "") not in ("", "0", "false"):
        print("FAIL: %s (required in CI)" % what)
        sys.exit(1)
    print("SKIP:", what)
    sys.exit(77)


def read_idx(path):
    """The items of an IDX file: a list of bytes objects (images) or ints (labels)."""
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    body = data[4 + 4 * dims:]
    if dims == 1:
        return list(body)
    size = 1
    for d in shape[1:]:
        size *= d
    return [body[i * size:(i + 1) * size] for i in range(shape[0])]


def mnist_test_images(data_dir):
    """The MNIST test images (784 bytes each) and labels from data_dir."""
    return (read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte")),
            read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte")))


class Server:
    """`mnistcl serve` on a free port (--port 0; the URL is read from its output), on the
    CPU reference unless $SERVE_DEVICE names another --device (for benchmarks)."""

    def __init__(self, mnistcl, model, *extra, timeout=120):
        device = os.environ.get("SERVE_DEVICE") or "cpu"
        self.proc = subprocess.Popen(
            [mnistcl, "serve", "--model", model, "--port", "0", "--device", device, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.url = None
        text, fd = b"", self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while self.url is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.proc.kill()
                raise RuntimeError("serve printed no URL in %d s: %r" % (timeout, text))
            chunk = os.read(fd, 4096)  # (unbuffered: select sees what is left)
            if not chunk:  # it ended
                self.proc.wait()
                require(b"built without libmicrohttpd" not in text,
                        "this mnistcl was built without libmicrohttpd")
                raise RuntimeError("serve exited with %d: %s" %
                                   (self.proc.returncode, text.decode(errors="replace")))
            text += chunk
            m = re.search(rb"^serving (http://\S+/) ", text, re.M)
            if m:
                self.url = m.group(1).decode()
        self.head = text.decode(errors="replace")
        m = re.match(r"http://([^/]+):(\d+)/", self.url)
        self.host, self.port = m.group(1), int(m.group(2))

    def running(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and returns (exit code, the rest of the output)."""
        if self.running():
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            return None, out.decode(errors="replace")
        return self.proc.returncode, out.decode(errors="replace")


def predict_guess(mnistcl, model, data_dir, index):
    """The guess `mnistcl predict --model M --index i` prints ("guessed digit G, ...")."""
    out = subprocess.run([mnistcl, "predict", "--model", model, "--data", data_dir,
                          "--index", str(index)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"^  guessed digit (\d+)", out, re.M)
    if not m:
        raise RuntimeError("no guess line in predict's output:\n" + out)
    return int(m.group(1))
