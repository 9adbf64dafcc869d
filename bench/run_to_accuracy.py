#!/usr/bin/python3
"""Times a training process until its first epoch line at or above a test accuracy.

Runs COMMAND (in its own process group) and reads its output line by line. The epoch
table's header (a line whose first word is "epoch" and that names a "test%" column, as
`mnistcl train` prints it, with or without --val's extra columns, and as
bench/pytorch_time_to_acc.py prints it) says which column is the test accuracy; every
line after it whose first word is a number is an epoch. At the first epoch whose test
accuracy is >= TARGET the seconds since the launch are taken and the process group is
killed. Prints one line:
    reached SECONDS EPOCH TEST%          or
    not_reached SECONDS EPOCHS LAST_TEST%   (the whole run: it ended first)
    failed SECONDS EXIT_STATUS           (it ended with an error before the target)
and the command's output to stderr when it failed. After TIMEOUT seconds the run is
killed and reported as not_reached. $RUN_LOG, when set, names a file that gets the
command's output (as far as it was read).

usage: run_to_accuracy.py TARGET TIMEOUT COMMAND [ARG...]
"""
import os
import signal
import subprocess
import sys
import time


def save_log(lines):
    if os.environ.get("RUN_LOG"):
        with open(os.environ["RUN_LOG"], "w") as f:
            f.write("".join(lines))


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    target, timeout, cmd = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True, universal_newlines=True, bufsize=1)
    column, epochs, last, lines = None, 0, float("nan"), []
    timer_hit = False

    def kill():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def on_alarm(signum, frame):
        nonlocal timer_hit
        timer_hit = True
        kill()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    for line in p.stdout:
        lines.append(line)
        words = line.split()
        if not words:
            continue
        if words[0] == "epoch" and "test%" in words:
            column = words.index("test%")
            continue
        if column is None or not words[0].isdigit() or len(words) <= column:
            continue
        try:
            acc = float(words[column])
        except ValueError:  # "-": no test labels
            continue
        epochs, last = int(words[0]), acc
        if acc >= target:
            seconds = time.perf_counter() - t0
            signal.setitimer(signal.ITIMER_REAL, 0)
            kill()
            p.wait()
            save_log(lines)
            print(f"reached {seconds:.3f} {epochs} {acc:.2f}")
            return 0
    p.wait()
    seconds = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    save_log(lines)
    if p.returncode != 0 and not timer_hit:
        sys.stderr.write("".join(lines[-20:]))
        print(f"failed {seconds:.3f} {p.returncode}")
        return 1
    print(f"not_reached {seconds:.3f} {epochs} {last:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
