#!/usr/bin/env python3
"""Where a Propylon worker's CPU goes: py-spy on a 1-worker gunicorn under wrk.

    python bench/pyspy_profile.py [--path /proxy] [--seconds 8] [--pin]

Starts the same nginx backend and configs as ``bench/run.py``, a single
gunicorn worker (so one PID holds every sample), drives it with
``wrk -t2 -c32`` and records ``py-spy record --gil -r 200 -f raw`` for
``--seconds``.  ``--gil`` keeps only samples of the thread holding the GIL:
without it, threads blocked in ``recv`` look busy.

Each sample is charged to the innermost frame that belongs to a named layer
(requests, urllib3, http.client, gunicorn, Flask, Werkzeug, app.*, ...), so a
stdlib helper (socket, selectors, threading, typing) counts against the
library that called it.  Shares are printed next to the CPU per request
measured over the same wrk run, which turns them into microseconds.

Needs ``pip install py-spy`` and ptrace rights (root, or
``kernel.yama.ptrace_scope=0``).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

import run  # bench/run.py: servers, wrk and CPU accounting

#: (layer, test on the frame's file name), innermost match wins.  Frames of
#: no layer (stdlib helpers) count against the nearest layer that called them.
LAYERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("requests", re.compile(r"(^|/)requests/")),
    ("urllib3", re.compile(r"(^|/)urllib3/")),
    # email/ is not a layer: http.client parses headers with it, gunicorn formats dates with it.
    ("http.client (+ email header parsing)", re.compile(r"(^|/)http/client\.py$")),
    ("gunicorn", re.compile(r"(^|/)gunicorn/")),
    ("flask", re.compile(r"(^|/)flask/")),
    ("werkzeug", re.compile(r"(^|/)werkzeug/")),
    ("concurrent.futures (thread pools)", re.compile(r"(^|/)concurrent/futures/")),
    ("json / orjson", re.compile(r"(^|/)json/|orjson")),
    ("logging", re.compile(r"(^|/)logging/")),
)
#: py-spy names files relative to their sys.path entry ("app/proxy/http.py"),
#: or absolute when it cannot; either way this is Propylon's own package.
APP_FILE = re.compile(rf"^(?:{re.escape(str(run.REPO))}/)?(app/[\w/]+)\.py$")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_options(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="py-spy profile of one Propylon worker under wrk")
    parser.add_argument("--path", default="/proxy", help="endpoint to load: /proxy, /agg or /slow (default /proxy)")
    parser.add_argument("--seconds", type=int, default=8, help="seconds of py-spy sampling (default 8)")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second (default 200)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads of the single worker (default 8)")
    parser.add_argument("-c", "--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--pin", action="store_true", help="worker on CPU 1; wrk, nginx and py-spy on CPU 0")
    parser.add_argument("--no-gil", action="store_true",
                        help="sample every active thread, not only the GIL holder (threads in recv then look busy)")
    parser.add_argument("--raw", type=Path, default=None, help="also keep py-spy's raw output here")
    parser.add_argument("--top", type=int, default=15, help="how many innermost functions to list (default 15)")
    return parser.parse_args(argv)


def layer_of(file: str) -> Optional[str]:
    for name, pattern in LAYERS:
        if pattern.search(file):
            return name
    app = APP_FILE.search(file)
    if app:
        return app.group(1).replace("/", ".")
    return None


def parse_raw(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    """py-spy's raw (collapsed) format: ``frame;frame;...;innermost count`` per line."""
    stacks = []
    for line in text.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        frames = []
        for frame in stack_text.split(";"):
            match = FRAME.match(frame)
            if match:
                frames.append((match.group("func"), match.group("file")))
        stacks.append((frames, int(count)))
    return stacks


def summarise(stacks: list[tuple[list[tuple[str, str]], int]]) -> tuple[Counter[str], Counter[str], int]:
    """(samples per layer, samples per innermost function, total samples)."""
    layers: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    total = 0
    for frames, count in stacks:
        total += count
        owner = next((layer for layer in (layer_of(f) for _, f in reversed(frames)) if layer), "other")
        layers[owner] += count
        if frames:
            func, file = frames[-1]
            innermost[f"{func} ({Path(file).name})"] += count
    return layers, innermost, total


def group_app(layers: Counter[str]) -> Counter[str]:
    """The same counts with every ``app.*`` module folded into one ``app (Propylon)`` row."""
    grouped: Counter[str] = Counter()
    for name, count in layers.items():
        grouped["app (Propylon, all modules)" if name.startswith("app.") else name] += count
    return grouped


def print_table(title: str, counts: Counter[str], total: int, us_per_req: Optional[float], top: int) -> None:
    print(f"\n{title}")
    for name, count in counts.most_common(top):
        share = count / total if total else 0.0
        micro = f"≈ {share * us_per_req:6,.0f} µs/req" if us_per_req else ""
        print(f"  {share * 100:5.1f}%  {micro}  {name}")


def start_gateway(opts: argparse.Namespace, procs: run.Processes, tmp: Path) -> tuple[run.Server, int]:
    """nginx + a 1-worker Propylon, as bench/run.py starts them; returns the server and its worker's PID."""
    bench_opts = run.parse_options(["--workers", "1", "--threads", str(opts.threads)] + (["--pin"] if opts.pin else []))
    nginx = run.start_nginx(procs, tmp, bench_opts)
    config = tmp / "krakend.json"
    config.write_text(json.dumps(run.gateway_conf(nginx.port, run.free_port())))
    gateway = run.start_gunicorn(procs, tmp, "propylon", "wsgi:app", config, "/proxy", bench_opts)
    run.check_gateway(gateway)
    workers = run.CpuSnapshot.take().children(gateway.proc.pid)
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {workers}")
    return gateway, workers[0]


def record(opts: argparse.Namespace, url: str, worker: int, script: Path, raw: Path) -> tuple[run.WrkResult, str]:
    """Sample ``worker`` with py-spy while wrk loads ``url``; (wrk result, py-spy's summary line)."""
    # wrk starts 2 s before py-spy and ends about 2 s after, so every sample is under load.
    load = run.Load(2, opts.connections, opts.seconds + 4)
    wrk_cmd = ["wrk", *load.describe().split(), "--latency", "--timeout", "5s", "-s", str(script), url]
    wrk = subprocess.Popen(run.on_cpu(0, wrk_cmd, opts.pin), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    try:
        time.sleep(2)
        spy = ["py-spy", "record", *([] if opts.no_gil else ["--gil"]), "-r", str(opts.rate),
               "-d", str(opts.seconds), "-f", "raw", "-o", str(raw), "--pid", str(worker)]
        spied = subprocess.run(run.on_cpu(0, spy, opts.pin), check=True, capture_output=True, text=True,
                               timeout=opts.seconds + 60)
        output, _ = wrk.communicate(timeout=opts.seconds + 60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    said = [line.strip() for line in (spied.stdout + spied.stderr).splitlines() if "Samples:" in line]
    return run.parse_wrk(output), " ".join(said)


def profile(opts: argparse.Namespace, procs: run.Processes, tmp: Path) -> None:
    script = tmp / "summary.lua"
    script.write_text(run.WRK_LUA)
    gateway, worker = start_gateway(opts, procs, tmp)
    url = f"http://{run.LOOPBACK}:{gateway.port}{opts.path}"
    run.run_wrk(url, run.Load(2, opts.connections, 1), script, opts.pin)  # warm-up
    raw = opts.raw or tmp / "pyspy.txt"
    before, started = run.CpuSnapshot.take(), time.monotonic()
    result, said = record(opts, url, worker, script, raw)
    wall = time.monotonic() - started
    cpu = run.CpuSnapshot.take().tree_seconds(gateway.proc.pid) - before.tree_seconds(gateway.proc.pid)
    us_per_req = cpu * 1e6 / result.requests if result.requests else None
    print(f"{opts.path}: 1 worker x {opts.threads} threads, {'pinned' if opts.pin else 'unpinned'}, "
          f"wrk -t2 -c{opts.connections}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
          f"CPU {us_per_req or 0:,.0f} µs/req ({cpu / wall:.2f} cores, py-spy's pauses of the worker included), "
          f"non-2xx {result.http_errors}, socket errors {result.socket_errors}")
    layers, innermost, total = summarise(parse_raw(raw.read_text()))
    kind = "active-thread" if opts.no_gil else "GIL-holding"
    print(f"py-spy: {total} {kind} samples over {opts.seconds} s at {opts.rate}/s ({said})")
    print_table("By layer (innermost named layer of each sample):", group_app(layers), total, us_per_req, 20)
    print_table("Propylon modules:", Counter({k: v for k, v in layers.items() if k.startswith("app.")}), total,
                us_per_req, 20)
    print_table(f"Top {opts.top} innermost functions (self time):", innermost, total, us_per_req, opts.top)


def main(argv: Optional[Sequence[str]] = None) -> int:
    opts = parse_options(argv)
    missing = run.check_prerequisites(opts.pin)
    if shutil.which("py-spy") is None:
        missing.append("py-spy (pip install py-spy)")
    if missing:
        print("missing:\n  - " + "\n  - ".join(missing) + f"\nDebian packages: {run.APT_HINT}", file=sys.stderr)
        return 2
    run.raise_on_stop_signals()
    procs = run.Processes()
    tmp = Path(tempfile.mkdtemp(prefix="propylon-pyspy-"))
    try:
        profile(opts, procs, tmp)
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"profile failed: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
