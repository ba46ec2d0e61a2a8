#!/usr/bin/env python3
"""Propylon's throughput/latency benchmark (see bench/README.md).

One run starts a local nginx backend, then measures with wrk, under the
same gunicorn settings:

  (a) bare Flask ``/hello``        the ceiling for any Flask gateway
  (b) Propylon ``/proxy``          1 fast backend
  (c) Propylon ``/agg``            3 fast backends, merged
  (d) Propylon ``/slow``           3 backends answering after 50 ms, 1 connection
  (e) nginx ``/slow/a`` directly   what 50 ms really is on this box (reference)

and prints the ratios the performance targets are written in: (b)/(a),
(c)/(a) and (d) p50 - 50 ms.  Ratios from the same run are the numbers to
compare; absolute numbers move ±15 % between runs on this 2-core VM.

Only 127.0.0.1 is ever used; every process started here runs in its own
process group and is stopped in a ``finally``, also on Ctrl-C.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, Optional, Sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LOOPBACK = "127.0.0.1"

#: ~200-byte backend bodies with disjoint keys, so /agg's merge really merges.
BACKEND_BODIES: dict[str, dict[str, Any]] = {
    name: {
        f"{name}_id": index + 1,
        f"{name}_name": f"backend {name}",
        f"{name}_tags": ["alpha", "beta", "gamma", "delta"],
        f"{name}_stats": {"count": 42 + index, "ratio": 0.25 * (index + 1), "ok": True},
        f"{name}_text": "static JSON served by the bench nginx, about two hundred bytes",
    }
    for index, name in enumerate(("a", "b", "c"))
}
SLOW_DELAY_S = 0.05

#: The issue's targets, next to which the ratios are printed.
TARGET_PROXY_RATIO = 0.45
TARGET_AGG_RATIO = 0.25
TARGET_SLOW_OVERHEAD_MS = 5.0

ECHO_MODULE_PATHS = (
    Path("/usr/lib/nginx/modules/ngx_http_echo_module.so"),
    Path("/usr/share/nginx/modules/ngx_http_echo_module.so"),
)
APT_HINT = "apt-get update && apt-get install -y nginx-light libnginx-mod-http-echo wrk"

#: wrk prints its normal report; this Lua hook adds one machine-readable line.
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"connect_errors":%.0f,"read_errors":%.0f,"write_errors":%.0f,"timeouts":%.0f,"status_errors":%.0f,' ..
    '"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"mean_us":%.1f,"max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


# --------------------------------------------------------------------------- options

@dataclass(frozen=True)
class Options:
    workers: int
    threads: int
    pool_size: Optional[int]
    duration: int
    connections: int
    wrk_threads: int
    slow_duration: int
    slow_connections: int
    warmup: int
    pin: bool
    recycle: bool
    gunicorn_args: tuple[str, ...]
    skip_reference: bool
    retries: int
    results_dir: Path
    keep_temp: bool


def parse_options(argv: Optional[Sequence[str]] = None) -> Options:
    parser = argparse.ArgumentParser(
        description="Benchmark Propylon against a bare Flask ceiling (see bench/README.md).")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for every server (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (default 8)")
    parser.add_argument("--pool-size", type=int, default=None,
                        help="GATEWAY_POOL_SIZE (fan-out threads per worker; default: Propylon's own)")
    parser.add_argument("-d", "--duration", type=int, default=10, help="seconds per run of (a)-(c) (default 10)")
    parser.add_argument("-c", "--connections", type=int, default=32, help="wrk connections for (a)-(c) (default 32)")
    parser.add_argument("-t", "--wrk-threads", type=int, default=2, help="wrk threads for (a)-(c) (default 2)")
    parser.add_argument("--slow-duration", type=int, default=None,
                        help="seconds per run of (d) and (e) (default: --duration)")
    parser.add_argument("--slow-connections", type=int, default=1, help="wrk connections for (d) and (e) (default 1)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load before each run (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 s runs")
    parser.add_argument("--pin", action="store_true",
                        help="servers under test on CPU 1, wrk and nginx on CPU 0 (taskset); default: unpinned")
    parser.add_argument("--recycle", action="store_true",
                        help="keep gunicorn.conf.py's max_requests (workers restart mid-run); default: off")
    parser.add_argument("--gunicorn-arg", action="append", default=[], metavar="ARG",
                        help="extra gunicorn option for every server, e.g. --gunicorn-arg=--reuse-port (repeatable)")
    parser.add_argument("--retries", type=int, default=2,
                        help="re-runs of a run that was unbalanced (unpinned, one worker did most of the work) "
                             "or disturbed by other processes (default 2)")
    parser.add_argument("--skip-reference", action="store_true", help="skip (e), wrk -> nginx /slow/a directly")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results", help="where the JSON goes")
    parser.add_argument("--keep-temp", action="store_true", help="keep the temp dir (configs, server logs)")
    args = parser.parse_args(argv)
    duration = 3 if args.quick else args.duration
    slow_duration = 3 if args.quick else (args.slow_duration or duration)
    for name in ("workers", "threads", "connections", "wrk_threads", "slow_connections"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if duration < 1 or slow_duration < 1 or args.warmup < 0:
        parser.error("durations must be at least 1 s (warm-up at least 0)")
    return Options(
        workers=args.workers, threads=args.threads, pool_size=args.pool_size, duration=duration,
        connections=args.connections, wrk_threads=min(args.wrk_threads, args.connections),
        slow_duration=slow_duration, slow_connections=args.slow_connections, warmup=args.warmup,
        pin=args.pin, recycle=args.recycle,
        gunicorn_args=tuple(args.gunicorn_arg), skip_reference=args.skip_reference, retries=max(0, args.retries),
        results_dir=args.results_dir, keep_temp=args.keep_temp,
    )


# --------------------------------------------------------------------------- prerequisites

def echo_module() -> Optional[Path]:
    return next((p for p in ECHO_MODULE_PATHS if p.exists()), None)


def nginx_binary() -> Optional[str]:
    # Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def check_prerequisites(pin: bool) -> list[str]:
    """What is missing, as human-readable lines (empty when all is there)."""
    missing = []
    if nginx_binary() is None:
        missing.append("nginx (Debian package nginx-light, or nginx)")
    if echo_module() is None:
        missing.append("the nginx echo module (Debian package libnginx-mod-http-echo), needed for echo_sleep")
    if shutil.which("wrk") is None:
        missing.append("wrk (Debian package wrk)")
    if pin and shutil.which("taskset") is None:
        missing.append("taskset (Debian package util-linux), needed for --pin")
    if pin and len(os.sched_getaffinity(0)) < 2:
        missing.append("a second CPU: --pin uses CPUs 0 and 1")
    return missing


# --------------------------------------------------------------------------- processes

class Processes:
    """Every server started here, each in its own process group, so one
    ``killpg`` stops it with all its workers and nothing else."""

    def __init__(self) -> None:
        self._running: dict[int, tuple[subprocess.Popen[bytes], int]] = {}

    def start(self, cmd: list[str], log: Path, stop_signal: int = signal.SIGTERM,
              env: Optional[dict[str, str]] = None, cwd: Optional[Path] = None) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=env, cwd=cwd, start_new_session=True)
        self._running[proc.pid] = (proc, stop_signal)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
        _, stop_signal = self._running.pop(proc.pid, (proc, signal.SIGTERM))
        _signal_group(proc.pid, stop_signal)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        # Workers may outlive their master for a moment; nothing of the group may stay.
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        # A second Ctrl-C during clean-up must not leave servers behind.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        for proc, _ in list(self._running.values()):
            self.stop(proc)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the whole group is gone (a pgid is not reused while any member lives)


def on_cpu(cpu: int, cmd: list[str], pin: bool) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if pin else cmd


def free_port() -> int:
    # The kernel picks a free ephemeral port; the tiny race before the server
    # binds it is acceptable for a benchmark on an otherwise idle loopback.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def raise_on_stop_signals() -> None:
    """Turn SIGINT/SIGTERM/SIGHUP into KeyboardInterrupt so ``finally`` blocks stop the servers.

    SIGINT too: a shell starts background jobs with SIGINT ignored, and
    Python then keeps ignoring it.
    """
    def handler(signum: int, _frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# --------------------------------------------------------------------------- configs

def nginx_conf(tmp: Path, port: int, module: Path) -> str:
    def json_text(name: str) -> str:
        return json.dumps(BACKEND_BODIES[name], separators=(",", ":"))

    locations = []
    for name in BACKEND_BODIES:
        locations.append(f"        location = /{name} {{ return 200 '{json_text(name)}'; }}")
        # echo_sleep is non-blocking: one nginx worker serves any number of sleepers.
        locations.append(f"        location = /slow/{name} {{ echo_sleep {SLOW_DELAY_S}; echo '{json_text(name)}'; }}")
    temp_paths = "\n".join(f"    {kind}_temp_path {tmp / ('nginx-' + kind)};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# generated by bench/run.py
load_module {module};
daemon off;
worker_processes 1;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'nginx-error.log'} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type application/json;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
{temp_paths}
    server {{
        listen {LOOPBACK}:{port} reuseport;
{chr(10).join(locations)}
    }}
}}
"""


def gateway_conf(backend_port: int, port: int) -> dict[str, Any]:
    host = [f"http://{LOOPBACK}:{backend_port}"]

    def endpoint(path: str, patterns: Sequence[str]) -> dict[str, Any]:
        return {"endpoint": path, "method": "GET",
                "backend": [{"url_pattern": p, "host": host, "encoding": "json"} for p in patterns]}

    return {
        "version": 3,
        "name": "propylon-bench",
        "port": port,
        "listen_ip": LOOPBACK,
        "timeout": "2s",
        "endpoints": [
            endpoint("/proxy", ["/a"]),
            endpoint("/agg", ["/a", "/b", "/c"]),
            endpoint("/slow", ["/slow/a", "/slow/b", "/slow/c"]),
        ],
    }


# --------------------------------------------------------------------------- servers

@dataclass(frozen=True)
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path


def start_nginx(procs: Processes, tmp: Path, opts: Options) -> Server:
    port = free_port()
    module = echo_module()
    assert module is not None  # checked by check_prerequisites
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(tmp, port, module))
    log = tmp / "nginx.log"
    binary = nginx_binary() or "nginx"
    # -e: the compiled-in error log (/var/log/nginx) is opened before the config is read.
    cmd = on_cpu(0, [binary, "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(conf)], opts.pin)
    server = Server("nginx", port, procs.start(cmd, log, signal.SIGTERM), log)
    wait_ready(server, "/a")
    return server


def gunicorn_env(config: Path, port: int, opts: Options) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "GATEWAY_CONFIG": str(config),
        "GATEWAY_BIND": f"{LOOPBACK}:{port}",
        "GATEWAY_WORKERS": str(opts.workers),
        "GATEWAY_THREADS": str(opts.threads),
        "GATEWAY_DEBUG": "0",
    })
    if opts.pool_size is not None:
        env["GATEWAY_POOL_SIZE"] = str(opts.pool_size)
    return env


def start_gunicorn(procs: Processes, tmp: Path, name: str, app_spec: str, config: Path, ready_path: str,
                   opts: Options, workers: Optional[int] = None) -> Server:
    """``gunicorn -c gunicorn.conf.py <app>``: the project's own settings for every server."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    if not opts.recycle:
        # Worker restarts (max_requests) mid-run cost the fast /hello far more
        # often than the gateway and would skew the ratios.
        cmd += ["--max-requests", "0"]
    cmd += [*opts.gunicorn_args, app_spec]
    env = gunicorn_env(config, port, opts)
    if workers is not None:
        env["GATEWAY_WORKERS"] = str(workers)
    log = tmp / f"gunicorn-{name}.log"
    # SIGINT is gunicorn's quick shutdown: no graceful wait for idle keep-alive sockets.
    proc = procs.start(on_cpu(1, cmd, opts.pin), log, signal.SIGINT, env=env, cwd=REPO)
    server = Server(name, port, proc, log)
    wait_ready(server, ready_path)
    return server


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    # http.client straight to 127.0.0.1: urllib would honour *_proxy variables.
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def wait_ready(server: Server, path: str, timeout: float = 30.0) -> None:
    """Poll ``GET path`` until it answers 200; fail early if the server died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{tail(server.log)}")
        try:
            status, _, _ = http_get(server.port, path, timeout=2.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready on {path} after {timeout:.0f} s ({last}):\n{tail(server.log)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def check_gateway(server: Server) -> None:
    """Refuse to measure a gateway that answers wrongly: fast errors would look like speed."""
    expected = {key for body in BACKEND_BODIES.values() for key in body}
    for path in ("/proxy", "/agg", "/slow"):
        status, headers, body = http_get(server.port, path)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}: {body[:200]!r}")
        keys = set(json.loads(body))
        want = set(BACKEND_BODIES["a"]) if path == "/proxy" else expected
        if keys != want:
            raise RuntimeError(f"{path}: unexpected keys {sorted(keys)}")
        if headers.get("x-krakend-completed") != "true":
            raise RuntimeError(f"{path}: X-Krakend-Completed is {headers.get('x-krakend-completed')!r}")


# --------------------------------------------------------------------------- CPU accounting

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_ticks(pid: int) -> tuple[int, int]:
    """(utime+stime+cutime+cstime, ppid) of one process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    # The command name may hold spaces and parentheses; fields start after the last ')'.
    fields = raw[raw.rindex(b")") + 2:].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return utime + stime + cutime + cstime, ppid


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU ticks of every process, who is whose parent, and the machine's
    busy ticks (all CPUs, from /proc/stat), at one instant."""
    ticks: dict[int, int]
    parents: dict[int, int]
    machine_busy: int

    @classmethod
    def take(cls) -> "CpuSnapshot":
        ticks: dict[int, int] = {}
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    ticks[int(entry)], parents[int(entry)] = _stat_ticks(int(entry))
                except (OSError, ValueError):
                    continue  # exited while we looked
        return cls(ticks, parents, _machine_busy_ticks())

    def children(self, pid: int) -> list[int]:
        return [child for child, parent in self.parents.items() if parent == pid]

    def tree(self, root: int) -> set[int]:
        found, todo = set(), [root]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(self.children(pid))
        return found

    def tree_seconds(self, root: int) -> float:
        """CPU time of ``root`` and all its descendants, live or reaped.

        cutime/cstime hold the time of children that have exited and been
        waited for, so a worker that restarts mid-run is still counted (in
        its master's figure).
        """
        return sum(self.ticks.get(pid, 0) for pid in self.tree(root)) / CLK_TCK


def _machine_busy_ticks() -> int:
    """user + nice + system + irq + softirq of all CPUs: everything any task was charged for."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return user + nice + system + irq + softirq


def foreign_seconds(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """CPU used between two snapshots by anything this benchmark did not start.

    Other work on the same 2 cores (a test suite, another benchmark) shifts
    every number; this is how much of it there was.  It is the machine's
    busy time minus that of our own process tree (servers, and wrk through
    our cutime once waited for), so short-lived foreign processes count too.
    Kernel threads are subtracted as well: ksoftirqd does part of our own
    loopback traffic.
    """
    me = os.getpid()
    ours = after.tree_seconds(me) - before.tree_seconds(me)
    kernel = sum(max(0, now - before.ticks.get(pid, 0)) for pid, now in after.ticks.items()
                 if pid == 2 or after.parents.get(pid) == 2) / CLK_TCK
    machine = (after.machine_busy - before.machine_busy) / CLK_TCK
    return max(0.0, machine - ours - kernel)


def machine_busy(seconds: float = 1.0) -> float:
    """Cores used by other processes over a short idle sample, before anything starts."""
    before = CpuSnapshot.take()
    time.sleep(seconds)
    return foreign_seconds(before, CpuSnapshot.take()) / seconds


def worker_shares(before: CpuSnapshot, after: CpuSnapshot, master: int) -> list[float]:
    """Each worker's share of the workers' CPU between two snapshots, largest first."""
    deltas = [after.ticks[pid] - before.ticks.get(pid, 0) for pid in after.children(master)]
    total = sum(deltas)
    return sorted((d / total for d in deltas), reverse=True) if total > 0 else []


# --------------------------------------------------------------------------- wrk

@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration: int

    def describe(self) -> str:
        return f"-t{self.threads} -c{self.connections} -d{self.duration}s"


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    http_errors: int          # wrk's "Non-2xx or 3xx responses" (it counts status >= 400)
    socket_errors: int        # connect + read + write + timeout
    socket_detail: dict[str, int]
    raw: str = field(repr=False)


def run_wrk(url: str, load: Load, script: Path, pin: bool) -> WrkResult:
    cmd = on_cpu(0, ["wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{load.duration}s",
                     "--latency", "--timeout", "5s", "-s", str(script), url], pin)
    # wrk stops itself after -d; the timeout only guards against a hang.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=load.duration + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> WrkResult:
    match = re.search(r"^WRKJSON (\{.*\})$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no summary in wrk output:\n{output}")
    data = json.loads(match.group(1))
    duration_s = data["duration_us"] / 1e6
    sockets = {k: int(data[f"{k}_errors"]) for k in ("connect", "read", "write")}
    sockets["timeout"] = int(data["timeouts"])
    return WrkResult(
        requests=int(data["requests"]), duration_s=duration_s,
        rps=data["requests"] / duration_s if duration_s else 0.0,
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000, max_ms=data["max_us"] / 1000,
        http_errors=int(data["status_errors"]), socket_errors=sum(sockets.values()), socket_detail=sockets,
        raw=output[:match.start()].rstrip(),
    )


# --------------------------------------------------------------------------- scenarios

@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    path: str
    load: Load


#: Unpinned, a run where one worker did more than this share of the workers'
#: CPU is "unbalanced": wrk opens all its connections at once, one gthread
#: worker may accept most of them, and the run then measures one GIL instead
#: of the box (2,400 vs 960 req/s seen for the same /proxy).  Retried.
UNBALANCED_SHARE = 0.6

#: A saturating run during which other processes used more than this many
#: cores is disturbed and retried (performance.md used 0.15 on this machine
#: type).  A 1-connection latency run uses about 0.1 core, so others only
#: disturb it when they take most of the idle one: it gets the larger limit.
FOREIGN_LIMIT = 0.15
FOREIGN_LIMIT_LATENCY = 0.5


@dataclass
class Measurement:
    key: str
    label: str
    url_path: str
    wrk_args: str
    wrk: WrkResult
    cpu_s: Optional[float]          # whole server process tree; None for the nginx reference
    cpu_us_per_req: Optional[float]
    server_cores: Optional[float]   # CPU seconds per wall second while wrk ran
    worker_shares: list[float]      # each worker's share of the workers' CPU, largest first
    balanced: Optional[bool]        # None: not checked (pinned, 1 worker, few connections, nginx)
    foreign_cores: float            # CPU of processes not started by this run, per wall second
    attempts: int = 1
    trouble: str = ""               # why the kept run is suspect, when retries ran out
    discarded: list[dict[str, Any]] = field(default_factory=list)


def saturating(load: Load, opts: Options) -> bool:
    """Enough connections to keep every worker busy (a throughput run, not a latency run)."""
    return load.connections >= 2 * opts.workers


def balance_matters(scenario: Scenario, server: Server, opts: Options) -> bool:
    # Pinned, all workers share one CPU anyway; with few connections an
    # uneven split is expected and harmless.
    return server.name != "nginx" and not opts.pin and opts.workers > 1 and saturating(scenario.load, opts)


def measure_once(scenario: Scenario, server: Server, script: Path, opts: Options) -> Measurement:
    url = f"http://{LOOPBACK}:{server.port}{scenario.path}"
    if opts.warmup:
        # Unmeasured: fills connection pools, thread pools and caches first.
        run_wrk(url, Load(scenario.load.threads, scenario.load.connections, opts.warmup), script, opts.pin)
    own_tree = server.name != "nginx"
    before = CpuSnapshot.take()
    started = time.monotonic()
    result = run_wrk(url, scenario.load, script, opts.pin)
    wall = time.monotonic() - started
    after = CpuSnapshot.take()
    cpu = after.tree_seconds(server.proc.pid) - before.tree_seconds(server.proc.pid) if own_tree else None
    shares = worker_shares(before, after, server.proc.pid) if own_tree else []
    balanced = (not shares or shares[0] <= UNBALANCED_SHARE) if balance_matters(scenario, server, opts) else None
    return Measurement(
        scenario.key, scenario.label, scenario.path, scenario.load.describe(), result, cpu,
        cpu * 1e6 / result.requests if cpu is not None and result.requests else None,
        cpu / wall if cpu is not None else None, shares, balanced, foreign_seconds(before, after) / wall,
    )


def trouble(m: Measurement, limit: float) -> str:
    """Why a run should be repeated ("" when it is fine)."""
    if m.balanced is False:
        return f"unbalanced (worker CPU split {format_shares(m.worker_shares)})"
    if m.foreign_cores > limit:
        return f"{m.foreign_cores:.2f} cores used by other processes"
    return ""


def measure(scenario: Scenario, server: Server, script: Path, opts: Options) -> Measurement:
    """One measured run, repeated (up to ``--retries``) while it is unbalanced or disturbed."""
    discarded: list[dict[str, Any]] = []
    limit = FOREIGN_LIMIT if saturating(scenario.load, opts) else FOREIGN_LIMIT_LATENCY
    while True:
        m = measure_once(scenario, server, script, opts)
        m.attempts, m.discarded = len(discarded) + 1, discarded
        why = trouble(m, limit)
        if not why or len(discarded) >= opts.retries:
            m.trouble = why
            print(format_line(m), flush=True)
            return m
        discarded.append({"rps": m.wrk.rps, "why": why, "worker_shares": m.worker_shares,
                          "foreign_cores": m.foreign_cores, "cpu_us_per_req": m.cpu_us_per_req})
        print(f"  ({m.key}) run discarded, {why}: {m.wrk.rps:,.0f} req/s; retrying", flush=True)


def format_shares(shares: list[float]) -> str:
    return "/".join(f"{s * 100:.0f}" for s in shares) + "%" if shares else "-"


def format_line(m: Measurement) -> str:
    w = m.wrk
    if m.cpu_us_per_req is not None and m.server_cores is not None:
        cpu = (f"{m.cpu_us_per_req:7,.0f} µs/req CPU ({m.server_cores:.2f} cores; "
               f"workers {format_shares(m.worker_shares)})")
    else:
        cpu = "nginx, CPU not measured"
    flag = f"   SUSPECT: {m.trouble} (retries exhausted)" if m.trouble else ""
    return (f"  ({m.key}) {m.label:<28} {m.wrk_args:<16} {w.rps:9,.1f} req/s   p50 {w.p50_ms:7.2f} ms   "
            f"p99 {w.p99_ms:7.2f} ms   non-2xx {w.http_errors}, socket errors {w.socket_errors}   {cpu}   "
            f"others {m.foreign_cores:.2f} cores{flag}")


def scenarios(opts: Options) -> dict[str, list[Scenario]]:
    busy = Load(opts.wrk_threads, opts.connections, opts.duration)
    slow = Load(1, opts.slow_connections, opts.slow_duration)
    plan = {
        "bare": [Scenario("a", "bare Flask /hello", "/hello", busy)],
        "propylon": [
            Scenario("b", "Propylon /proxy (1 backend)", "/proxy", busy),
            Scenario("c", "Propylon /agg (3 backends)", "/agg", busy),
            Scenario("d", "Propylon /slow (3 x 50 ms)", "/slow", slow),
        ],
        "nginx": [] if opts.skip_reference else [Scenario("e", "nginx /slow/a direct", "/slow/a", slow)],
    }
    return plan


# --------------------------------------------------------------------------- report

@dataclass(frozen=True)
class Ratio:
    name: str
    value: float
    unit: str
    target: str
    met: bool


def ratios(results: dict[str, Measurement]) -> list[Ratio]:
    out = []
    a, b, c, d = (results.get(k) for k in "abcd")
    if a and b and a.wrk.rps:
        value = b.wrk.rps / a.wrk.rps
        out.append(Ratio("(b)/(a) /proxy RPS vs bare Flask", value, "", f">= {TARGET_PROXY_RATIO}",
                         value >= TARGET_PROXY_RATIO))
    if a and c and a.wrk.rps:
        value = c.wrk.rps / a.wrk.rps
        out.append(Ratio("(c)/(a) /agg RPS vs bare Flask", value, "", f">= {TARGET_AGG_RATIO}",
                         value >= TARGET_AGG_RATIO))
    if d:
        value = d.wrk.p50_ms - SLOW_DELAY_S * 1000
        out.append(Ratio("(d) /slow p50 - 50 ms", value, " ms", f"<= {TARGET_SLOW_OVERHEAD_MS} ms",
                         value <= TARGET_SLOW_OVERHEAD_MS))
    return out


def print_ratios(found: list[Ratio], results: dict[str, Measurement]) -> None:
    print("\nRatios (compare these, not absolute numbers):")
    for r in found:
        print(f"  {r.name:<36} {r.value:8.3f}{r.unit:<4} target {r.target:<10} {'met' if r.met else 'NOT met'}")
    d, e = results.get("d"), results.get("e")
    if d and e:
        print(f"  {'(d) /slow p50 - direct nginx p50 (e)':<36} {d.wrk.p50_ms - e.wrk.p50_ms:8.3f} ms  "
              "(informational: the backend itself answers in "
              f"{e.wrk.p50_ms:.2f} ms)")


def markdown(results: dict[str, Measurement], found: list[Ratio], meta: dict[str, Any]) -> str:
    others = max((m.foreign_cores for m in results.values()), default=0.0)
    lines = [
        f"Layout: {meta['layout']}; gunicorn gthread {meta['workers']} workers x {meta['threads']} threads; "
        f"{meta['date']}, commit {meta['commit']}; other processes used at most {others:.2f} cores during a run.",
        "",
        "| scenario | wrk | req/s | p50 ms | p99 ms | CPU µs/req | non-2xx | socket errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results.values():
        cpu = f"{m.cpu_us_per_req:,.0f}" if m.cpu_us_per_req is not None else "–"
        suspect = f" (suspect: {m.trouble})" if m.trouble else ""
        lines.append(f"| ({m.key}) {m.label}{suspect} | `{m.wrk_args}` | {m.wrk.rps:,.0f} | {m.wrk.p50_ms:.2f} | "
                     f"{m.wrk.p99_ms:.2f} | {cpu} | {m.wrk.http_errors} | {m.wrk.socket_errors} |")
    lines += ["", "| ratio | measured | target | |", "|---|---:|---|---|"]
    for r in found:
        value = f"{r.value:.2f}{r.unit}" if r.unit else f"{r.value:.3f}"
        lines.append(f"| {r.name} | {value} | {r.target} | {'met' if r.met else '**not met**'} |")
    return "\n".join(lines)


def run_metadata(opts: Options) -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "?"

    def command_output(cmd: list[str]) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False, cwd=REPO)
            return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else ""
        except (OSError, subprocess.TimeoutExpired):
            return ""

    commit = command_output(["git", "rev-parse", "--short", "HEAD"]) or "?"
    if command_output(["git", "status", "--porcelain", "--", "app", "wsgi.py", "gunicorn.conf.py"]):
        commit += "+dirty"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "commit": commit,
        "layout": "pinned (servers under test on CPU 1, wrk + nginx on CPU 0)" if opts.pin
        else "unpinned (everything floats on all CPUs)",
        "pinned": opts.pin,
        "cpus": len(os.sched_getaffinity(0)),
        "loadavg_before": os.getloadavg(),
        "workers": opts.workers,
        "threads": opts.threads,
        "pool_size": opts.pool_size,
        "max_requests": "gunicorn.conf.py" if opts.recycle else 0,
        "gunicorn_args": list(opts.gunicorn_args),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("flask", "werkzeug", "gunicorn", "requests", "urllib3", "orjson")},
        "nginx": command_output([nginx_binary() or "nginx", "-v"]),
        "wrk": command_output(["wrk", "-v"]),
    }


def save(results: dict[str, Measurement], found: list[Ratio], meta: dict[str, Any], opts: Options) -> Path:
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    path = opts.results_dir / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    payload = {
        "meta": meta,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
        "scenarios": {k: asdict(m) for k, m in results.items()},
        "ratios": [asdict(r) for r in found],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


# --------------------------------------------------------------------------- main

def run(opts: Options, procs: Processes, tmp: Path) -> dict[str, Measurement]:
    script = tmp / "summary.lua"
    script.write_text(WRK_LUA)
    plan = scenarios(opts)
    results: dict[str, Measurement] = {}

    nginx = start_nginx(procs, tmp, opts)
    gateway_config = tmp / "krakend.json"
    gateway_config.write_text(json.dumps(gateway_conf(nginx.port, free_port()), indent=2))
    print(f"nginx backend on {LOOPBACK}:{nginx.port}; temp dir {tmp}", flush=True)

    # The ceiling runs under the very same gunicorn.conf.py (GATEWAY_CONFIG only feeds its defaults).
    bare = start_gunicorn(procs, tmp, "bare", "bench.bare_app:app", gateway_config, "/hello", opts)
    for scenario in plan["bare"]:
        results[scenario.key] = measure(scenario, bare, script, opts)
    procs.stop(bare.proc)

    gateway = start_gunicorn(procs, tmp, "propylon", "wsgi:app", gateway_config, "/proxy", opts)
    check_gateway(gateway)
    for scenario in plan["propylon"]:
        results[scenario.key] = measure(scenario, gateway, script, opts)
    procs.stop(gateway.proc)

    for scenario in plan["nginx"]:
        results[scenario.key] = measure(scenario, nginx, script, opts)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    opts = parse_options(argv)
    missing = check_prerequisites(opts.pin)
    if missing:
        print("bench/run.py cannot run; missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        print(f"Install them (Debian, as root):\n  {APT_HINT}", file=sys.stderr)
        return 2
    raise_on_stop_signals()
    meta = run_metadata(opts)
    print(f"Propylon benchmark, {meta['date']}, commit {meta['commit']}\n"
          f"layout: {meta['layout']}; gunicorn gthread {opts.workers} workers x {opts.threads} threads"
          f"{'' if opts.recycle else ', max_requests off'}{''.join(' ' + a for a in opts.gunicorn_args)}; "
          f"{meta['cpus']} CPUs; "
          f"load average before {meta['loadavg_before'][0]:.2f}", flush=True)
    busy = machine_busy()
    if busy > FOREIGN_LIMIT:
        print(f"warning: other processes are using {busy:.2f} cores right now; expect retries and noisy numbers",
              flush=True)
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="propylon-bench-"))
    try:
        results = run(opts, procs, tmp)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping servers", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        if opts.keep_temp:
            print(f"temp dir kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    found = ratios(results)
    print_ratios(found, results)
    print("\nMarkdown (for the README):\n")
    print(markdown(results, found, meta))
    print(f"\nraw results: {save(results, found, meta, opts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
