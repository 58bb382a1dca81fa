"""Real servers and a real load generator for ``bench/ceiling.py`` and ``bench/growth.py``.

gunicorn runs on a socket bound here to a free port of 127.0.0.1, in one of two set-ups
(``MODES``); wrk (Debian's ``wrk`` package) drives it with ``bench/wrk.lua``. Not a
benchmark itself.
"""

from __future__ import annotations

import http.client
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import _common as c

BENCH = Path(__file__).resolve().parent
LUA = BENCH / "wrk.lua"
PROBLEM_MARKERS = ("database is locked", "WORKER TIMEOUT", "Worker exited", "[ERROR]")


@dataclass(frozen=True)
class Mode:
    """One gunicorn set-up, used alike for Parley and the bare app."""

    name: str
    label: str
    workers: int
    args: tuple[str, ...]


SYNC2 = Mode(
    "sync2",
    "gunicorn -w 2 -k sync (the issue's measurement)",
    2,
    ("-w", "2", "-k", "sync", "--timeout", "60", "--backlog", "512"),
)
PROD1 = Mode(
    "prod1",
    "gunicorn -c python:service.cli.gunicorn_config -w 1 (production: gthread)",
    1,
    ("-c", "python:service.cli.gunicorn_config", "-w", "1"),
)
MODES = {mode.name: mode for mode in (SYNC2, PROD1)}


def production_config_exists(root: Path = c.ROOT) -> bool:
    return (root / "service" / "cli" / "gunicorn_config.py").exists()


def wrk_missing() -> str | None:
    if shutil.which("wrk"):
        return None
    return "wrk is not installed (Debian: apt-get install wrk)"


def _gunicorn_has(setting: str) -> bool:
    from gunicorn import config

    return any(getattr(s, "name", None) == setting for s in config.KNOWN_SETTINGS)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def workers(self) -> list[int]:
        return c.child_pids(self.process.pid)

    def pids(self) -> list[int]:
        return [self.process.pid, *self.workers()]

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MB (VmRSS)."""
        out = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                out.append(int(match.group(1)) / 1024)
        return sorted(out)

    def problems(self) -> list[str]:
        found = []
        lines = self.log_path.read_text(errors="replace").splitlines()
        for n, line in enumerate(lines):
            if line.startswith("Traceback"):
                tail = [x for x in lines[n + 1 :] if x and not x[0].isspace()]
                found.append("Traceback: " + (tail[0] if tail else "?"))
            elif any(marker in line for marker in PROBLEM_MARKERS):
                found.append(line.strip())
        return found


def free_listener() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    return listener


@contextmanager
def gunicorn(
    name: str,
    mode: Mode,
    app: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    pythonpath: Path | None = None,
    health: str = "/healthz",
) -> Iterator[Server]:
    """gunicorn in ``mode`` serving ``app`` ("module:variable"), stopped afterwards."""
    listener = free_listener()
    port = listener.getsockname()[1]
    fd = listener.fileno()
    command = [str(c.BIN / "gunicorn"), "--chdir", str(c.ROOT), *mode.args]
    command += ["-b", f"fd://{fd}", "--graceful-timeout", "5"]
    if pythonpath is not None:
        command += ["--pythonpath", str(pythonpath)]
    if _gunicorn_has("control_socket_disable"):
        command.append("--no-control-socket")
    command.append(app)
    full_env = {**env, "PYTHONPATH": str(c.ROOT), "PYTHONUNBUFFERED": "1"}
    full_env.setdefault("PARLEY_PUBLIC_URL", f"http://127.0.0.1:{port}")
    log_path = log_dir / f"gunicorn-{name}-{mode.name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=c.ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[fd],
            start_new_session=True,
        )
    listener.close()
    server = Server(name, port, process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn ({name}) exited:\n" + log_path.read_text()[-4000:])
            try:
                if (
                    fetch(port, "GET", health).status < 500
                    and len(server.workers()) == mode.workers
                ):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn ({name}) did not answer {health} in 60 s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes  # as on the wire (not decompressed)


def fetch(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        answer = connection.getresponse()
        data = answer.read()
        return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
    finally:
        connection.close()


# --- wrk ----------------------------------------------------------------------------------


def _own_cpu() -> float:
    """CPU seconds of this process and its finished children (wrk)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Load:
    """What one wrk run saw."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    statuses: dict[int, int] = field(default_factory=dict)
    answers: list[tuple[int, str]] = field(default_factory=list)  # post/vote mode, checked
    other_cpu: float = 0.0
    server_cpu_ms: float = 0.0  # per request, gunicorn master + workers (+ db backends)
    attempts: int = 1  # see calm()

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


@dataclass
class Shot:
    """One row's request, the same for Parley and the bare app but for the paths."""

    method: str
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    mode: str = "plain"  # plain, post, vote
    check: bool = False
    keys: list[str] = field(default_factory=list)
    form_token: str = ""
    tag: str = "x"


def wrk(
    port: int,
    shot: Shot,
    seconds: float,  # whole seconds (wrk's unit)
    connections: int,
    *,
    cpu_pids: list[int] | None = None,
    threads: int = 1,
) -> Load:
    """One wrk run against 127.0.0.1:port."""
    out_dir = Path(tempfile.mkdtemp(prefix="parley-bench-wrk-", dir="/tmp"))
    env = {
        **os.environ,
        "BENCH_METHOD": shot.method,
        "BENCH_PATHS": "\n".join(shot.paths),
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in shot.headers.items()),
        "BENCH_BODY": shot.body,
        "BENCH_MODE": shot.mode,
        "BENCH_CHECK": "1" if shot.check else "0",
        "BENCH_KEYS": "\n".join(shot.keys),
        "BENCH_FORM_TOKEN": shot.form_token,
        "BENCH_TAG": f"{shot.tag}.{secrets.token_hex(3)}",  # each run's texts its own
        "BENCH_OUT": str(out_dir / "answers"),
    }
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
    ]
    command += ["--timeout", "30s", "-s", str(LUA), f"http://127.0.0.1:{port}"]
    pids = cpu_pids or []
    before, busy, own, wall = c.process_cpu(pids), c.system_busy(), _own_cpu(), time.perf_counter()
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 120
        )
        elapsed = time.perf_counter() - wall
        spent = c.process_cpu(pids) - before
        # Everything the machine did that was neither the servers, nor wrk, nor this script.
        other = max(0.0, c.system_busy() - busy - spent - (_own_cpu() - own))
        other_share = other / (elapsed * (os.cpu_count() or 1))
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        result = re.search(r"^BENCH result (.*)$", done.stdout, re.MULTILINE)
        tally = re.search(r"^BENCH statuses (.*)$", done.stdout, re.MULTILINE)
        if result is None or tally is None:
            raise RuntimeError(f"wrk printed no result:\n{done.stdout}{done.stderr}")
        fields = dict(item.split("=") for item in result.group(1).split())
        statuses = {
            int(k): int(v)
            for k, v in (item.split("=") for item in tally.group(1).split(",") if item)
        }
        answers = []
        for path in sorted(out_dir.glob("answers.*")):
            for line in path.read_text(errors="replace").splitlines():
                status, _, body = line.partition("\t")
                answers.append((int(status), body))
        requests = int(fields["requests"])
        return Load(
            requests=requests,
            seconds=float(fields["seconds"]),
            p50_ms=int(fields["p50_us"]) / 1000,
            p99_ms=int(fields["p99_us"]) / 1000,
            errors={
                k.removeprefix("errors_"): int(v)
                for k, v in fields.items()
                if k.startswith("errors_") and int(v)
            },
            statuses=statuses,
            answers=answers,
            other_cpu=other_share,
            server_cpu_ms=spent / requests * 1000 if requests else 0.0,
        )
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


# Other sessions share this machine. Before each run the script waits (up to QUIET_WAIT
# seconds) for a quiet second; a run during which more than MAX_OTHER of the machine's CPU
# went to other processes is taken again, up to ATTEMPTS times, and the quietest attempt
# is kept (its share is reported).
MAX_OTHER = 0.10
ATTEMPTS = 2
QUIET_WAIT = 10.0


def wait_for_quiet(max_share: float, timeout: float = QUIET_WAIT) -> float:
    """Wait (up to ``timeout``) for a second in which the machine, with the benchmark's own
    servers idle, was busy at most ``max_share`` of its CPU; returns the last share seen."""
    deadline = time.monotonic() + timeout
    while True:
        busy, own = c.system_busy(), _own_cpu()
        time.sleep(1.0)
        share = (c.system_busy() - busy - (_own_cpu() - own)) / (os.cpu_count() or 1)
        if share <= max_share or time.monotonic() > deadline:
            return share


def calm(run: Callable[[], list[Load]], max_other: float = MAX_OTHER) -> list[Load]:
    """``run()`` (one or several wrk runs taken together) once the machine is quiet, again
    while it was busy with other work during the run; returns the quietest attempt's loads,
    each with its ``other_cpu`` and ``attempts``."""
    best: list[Load] | None = None
    attempts = 0
    while attempts < ATTEMPTS:
        attempts += 1
        if max_other < 1:
            wait_for_quiet(max_other)
        loads = run()
        if best is None or max(x.other_cpu for x in loads) < max(x.other_cpu for x in best):
            best = loads
        if max(x.other_cpu for x in loads) <= max_other:
            break
    assert best is not None
    for one in best:
        one.attempts = attempts
    return best
