"""Load test for `collab serve`: N concurrent Slack clients sending signed `/collab` commands.

Run from the repository root:

    .venv/bin/python bench/load.py                      # SQLite and PostgreSQL, 50 clients x 40 requests
    .venv/bin/python bench/load.py --db sqlite --clients 50 --requests 40

For each backend it starts the stub Slack Web API (tests/support/slack_stub.py), makes a fresh
database (a temp SQLite file, or a new PostgreSQL schema that is dropped afterwards), migrates it
and imports the demo schools with the real `collab` commands, then starts `collab serve --port P`
as a subprocess (gunicorn, the production path) and waits for /healthz. Each client first joins a
school (one request each, not timed). Before the clock starts every client's requests are drawn
from a realistic mix (help, list, matches, join, need, offer), encoded and signed (Slack accepts a
signature for 5 minutes; the run stops sending after 4). Then all clients start together, each
sending its next request as soon as the previous answer is complete (closed loop: the harshest
way to hold 50 clients). One thread drives all 50 connections with non-blocking sockets, so the
load generator, which shares the machine with the server, uses little CPU (about 0.2 ms a request,
against 1.2 ms with a thread and `requests` per client). Latency is from starting the request
(TCP connect, then the bytes) to the end of the whole HTTP response, which is Slack's
acknowledgement (Slack gives up after 3 s).

Loopback only; bounded in count (--requests) and time (--max-seconds). Exit status 1 if any
request failed (anything but HTTP 200, or a connection error). No pass/fail on latency here:
the figures go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support.slack_requests import SlackSender, sign  # noqa: E402
from tests.support.slack_stub import SlackStub  # noqa: E402

from common import collab_command  # noqa: E402  (bench/ is on the path when a script here runs)

SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench-0000-token"
TEAM_ID = "T0COLLAB1"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SCHOOLS_CSV = ROOT / "bot" / "data" / "demo_schools.csv"
THEME_MODEL = ROOT / "matching" / "data" / "theme_model.npz"
SIGNATURE_BUDGET = 240.0  # seconds from signing to the last send; Slack allows 300

# A working day's mix: people mostly look (help, list, matches) and sometimes post.
MIX = [("help", 20), ("list", 20), ("matches", 20), ("join", 10), ("need", 15), ("offer", 15)]
NEEDS = [
    "help with persistent absence in Year 9",
    "support for phonics teaching in reception",
    "ideas for reducing low-level disruption in lessons",
    "advice on curriculum sequencing in history",
    "training for teaching assistants supporting pupils with autism",
]
OFFERS = [
    "we can share our attendance tracking and family liaison approach",
    "our reading lead can visit and model phonics sessions",
    "a maths mastery training session for staff",
    "our behaviour routines and staff handbook",
    "careers fair contacts and work experience placements",
]


@dataclass
class Result:
    kind: str
    seconds: float
    status: int  # HTTP status, 0 for a connection error or timeout
    error: str = ""


@dataclass
class Run:
    backend: str
    clients: int
    requests_per_client: int
    results: list[Result] = field(default_factory=list)
    wall: float = 0.0
    server: str = ""
    server_cpu: float = float("nan")  # CPU seconds used by gunicorn (master and workers) during the load
    client_cpu: float = float("nan")  # CPU seconds used by this script during the load
    other_cpu: float = float("nan")  # CPU seconds used by anything else on the machine meanwhile
    db_cpu: float = float("nan")  # of which PostgreSQL's processes (a short-lived backend can be missed)
    db_connections: int = -1  # new PostgreSQL connections during the load


# ----------------------------------------------------------------------------- set-up
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_collab(args: list[str], env: dict) -> None:
    done = subprocess.run(collab_command() + args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"collab {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


@contextmanager
def fresh_database(backend: str, pg_url: str):
    """Yield a DATABASE_URL for an empty database that is thrown away afterwards."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="collab-bench-"))
        try:
            yield f"sqlite:///{folder / 'collab.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    try:
        yield pg_url + sep + urlencode({"options": f"-csearch_path={schema}"})
    finally:
        with psycopg.connect(pg_url, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def collab_server(env: dict, port: int, workers: int | None, threads: int | None, log_path: Path,
                  ready_timeout: float = 60.0):
    command = collab_command() + ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if process.poll() is not None:
                raise SystemExit(f"collab serve exited {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"/healthz did not answer 200 within {ready_timeout:.0f}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of a process and its children (Linux /proc; NaN elsewhere)."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
        family = {pid} | {p for p, (ppid, _) in stats.items() if ppid == pid}
        return sum(cpu for p, (_, cpu) in stats.items() if p in family)
    except (OSError, ValueError, AttributeError):
        return float("nan")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (Linux /proc/stat; NaN elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
        return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return float("nan")


def processes_cpu_seconds(name: str) -> float:
    """CPU seconds used so far by live processes called `name` (the database server's, say)."""
    total = 0.0
    try:
        tick = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    head, tail = (entry / "stat").read_text().rsplit(")", 1)
                except OSError:
                    continue
                if head.split("(", 1)[1] == name:
                    fields = tail.split()
                    total += (int(fields[11]) + int(fields[12])) / tick
    except (OSError, ValueError, AttributeError):
        return float("nan")
    return total


def pg_sessions(pg_url: str) -> int:
    """Connections PostgreSQL has accepted for this database so far (pg_stat_database.sessions, 14+)."""
    import psycopg

    try:
        with psycopg.connect(pg_url, autocommit=True) as connection:
            row = connection.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
        return int(row[0])
    except (psycopg.Error, TypeError):
        return -1


def school_urns() -> list[str]:
    import csv

    with open(SCHOOLS_CSV, newline="", encoding="utf-8") as f:
        return [row["URN"] for row in csv.DictReader(f) if row.get("EstablishmentStatus (name)", "Open") == "Open"]


# ----------------------------------------------------------------------------- load
def command_text(kind: str, rng: random.Random, urns: list[str]) -> str:
    if kind == "join":
        return f"join {rng.choice(urns)}"
    if kind == "need":
        return f"need {rng.choice(NEEDS)}"
    if kind == "offer":
        return f"offer {rng.choice(OFFERS)}"
    return kind


def build_requests(n: int, url: str, stub: SlackStub, urns: list[str], mix: list[tuple[str, int]], count: int,
                   seed: int, host: str, port: int) -> tuple[SlackSender, list[tuple[str, bytes]]]:
    """Client n's whole session, built and signed before the clock starts: (kind, raw HTTP request)."""
    user = f"U0BENCH{n:04d}"
    sender = SlackSender(url, SECRET, team_id=TEAM_ID, response_url_base=stub.base_url, user_id=user)
    rng = random.Random(seed * 1000 + n)
    kinds, weights = zip(*mix)
    timestamp = str(int(time.time()))
    built = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        body = urlencode(sender.command_fields(command_text(kind, rng, urns))).encode("utf-8")
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
            f"X-Slack-Request-Timestamp: {timestamp}\r\n"
            f"X-Slack-Signature: {sign(SECRET, timestamp, body)}\r\n\r\n"
        )
        built.append((kind, head.encode("ascii") + body))
    return sender, built


def parse_response(raw: bytes) -> tuple[int, str]:
    """(status, error) of a whole HTTP/1.1 response read to EOF; 0 if it is cut short."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return 0, f"incomplete response: {raw[:200]!r}"
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, f"bad status line: {lines[0][:200]!r}"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value) != len(body):
            return 0, f"body {len(body)} bytes, Content-Length {int(value)}"
    return status, "" if status == 200 else body[:200].decode(errors="replace")


class _Conn:
    __slots__ = ("client", "index", "sock", "data", "sent", "received", "began", "connected")


def drive(address: tuple[str, int], sessions: list[list[tuple[str, bytes]]], deadline: float,
          timeout: float, think: float = 0.0, seed: int = 1) -> list[Result]:
    """The timed phase: every client has one request in flight, and sends its next one as soon as the
    previous answer is complete (closed loop). One thread and epoll/select instead of a thread and an
    HTTP library per client, so the load generator takes as little of the server's CPU as possible.

    Latency is from starting the request (TCP connect, then the bytes) to the end of the whole HTTP
    response (the server closes the connection after it: `Connection: close`).

    With `think` > 0 each client, like a person, pauses between an answer and its next command
    (uniformly 0.5 to 1.5 times `think` seconds) instead of sending the next one at once."""
    import heapq

    selector = selectors.DefaultSelector()
    pauses = random.Random(seed)
    waiting: list[tuple[float, int]] = []  # (when, client) for clients thinking before their next command
    results: list[Result] = []
    next_index = [0] * len(sessions)
    clock = time.perf_counter

    def start(client_no: int) -> None:
        index = next_index[client_no]
        if index >= len(sessions[client_no]) or time.monotonic() > deadline:
            return
        next_index[client_no] = index + 1
        conn = _Conn()
        conn.client, conn.index = client_no, index
        conn.data = sessions[client_no][index][1]
        conn.sent, conn.received, conn.connected = 0, [], False
        conn.began = clock()
        conn.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conn.sock.setblocking(False)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.connect_ex(address)
        selector.register(conn.sock, selectors.EVENT_WRITE, conn)

    def finish(conn: _Conn, status: int, error: str) -> None:
        results.append(Result(sessions[conn.client][conn.index][0], clock() - conn.began, status, error))
        selector.unregister(conn.sock)
        conn.sock.close()
        if think > 0:
            heapq.heappush(waiting, (time.monotonic() + think * pauses.uniform(0.5, 1.5), conn.client))
        else:
            start(conn.client)

    for client_no in range(len(sessions)):
        start(client_no)
    hard_stop = time.monotonic() + (deadline - time.monotonic()) + timeout + 5
    while (selector.get_map() or waiting) and time.monotonic() < hard_stop:
        while waiting and waiting[0][0] <= time.monotonic():
            start(heapq.heappop(waiting)[1])
        if not selector.get_map():
            time.sleep(max(0.0, min(0.05, waiting[0][0] - time.monotonic())) if waiting else 0)
            continue
        for key, events in selector.select(timeout=0.01 if waiting else 0.5):
            conn = key.data
            try:
                if events & selectors.EVENT_WRITE:
                    if not conn.connected:
                        problem = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if problem:
                            finish(conn, 0, f"connect: {os.strerror(problem)}")
                            continue
                        conn.connected = True
                    conn.sent += conn.sock.send(conn.data[conn.sent:])
                    if conn.sent == len(conn.data):
                        selector.modify(conn.sock, selectors.EVENT_READ, conn)
                elif events & selectors.EVENT_READ:
                    chunk = conn.sock.recv(65536)
                    if chunk:
                        conn.received.append(chunk)
                    else:
                        finish(conn, *parse_response(b"".join(conn.received)))
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as problem:
                finish(conn, 0, f"{type(problem).__name__}: {problem}"[:200])
        now = clock()
        for key in list(selector.get_map().values()):
            if now - key.data.began > timeout:
                finish(key.data, 0, "timeout")
    for key in list(selector.get_map().values()):
        results.append(Result(sessions[key.data.client][key.data.index][0], clock() - key.data.began, 0, "gave up"))
        key.data.sock.close()
    return results


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def run_backend(backend: str, args, mix) -> Run:
    urns = school_urns()
    with SlackStub() as stub, fresh_database(backend, args.postgres_url) as database_url:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": stub.api_url,
            "DATABASE_URL": database_url,
        }
        run_collab(["db", "upgrade"], env)
        run_collab(["schools", "import", str(SCHOOLS_CSV)], env)
        port = free_port()
        log_path = Path(tempfile.gettempdir()) / f"collab-bench-{backend}-{port}.log"
        with collab_server(env, port, args.workers, args.threads, log_path) as (url, server_pid):
            # One request first so the workspace row exists before 50 people arrive at once.
            SlackSender(url, SECRET, team_id=TEAM_ID, response_url_base=stub.base_url).command("help")
            run = Run(backend, args.clients, args.requests)
            host, port_text = url.rsplit("//", 1)[1].split(":")
            signed_at = time.monotonic()
            built = [build_requests(n, url, stub, urns, mix, args.requests, args.seed, host, int(port_text))
                     for n in range(args.clients)]
            setup = []
            # Not timed: each person joins a school first, as they would on day one.
            for n, (sender, _) in enumerate(built):
                joined = sender.command(f"join {urns[n % len(urns)]}")
                if joined.status_code != 200:
                    setup.append(Result("setup-join", 0.0, joined.status_code, joined.text[:200]))
            # Slack refuses a signature more than 5 minutes old: stop well before the first one expires.
            deadline = min(time.monotonic() + args.max_seconds, signed_at + SIGNATURE_BUDGET)
            began = time.perf_counter()
            server_cpu, client_cpu = tree_cpu_seconds(server_pid), time.process_time()
            busy = machine_busy_seconds()
            if backend == "postgresql":
                db_cpu, sessions = processes_cpu_seconds("postgres"), pg_sessions(args.postgres_url)
            timed = drive(("127.0.0.1", int(port_text)), [requests_ for _, requests_ in built], deadline, args.timeout,
                          think=args.think, seed=args.seed)
            run.wall = time.perf_counter() - began
            run.server_cpu = tree_cpu_seconds(server_pid) - server_cpu
            run.client_cpu = time.process_time() - client_cpu
            run.other_cpu = machine_busy_seconds() - busy - run.server_cpu - run.client_cpu
            if backend == "postgresql":
                run.db_cpu = processes_cpu_seconds("postgres") - db_cpu
                run.db_connections = pg_sessions(args.postgres_url) - sessions - 1
            run.results = setup + timed
        run.server = log_path.read_text(errors="replace")
        log_path.unlink(missing_ok=True)
    return run


# ----------------------------------------------------------------------------- report
def report(run: Run) -> dict:
    timed = [r for r in run.results if r.kind != "setup-join"]
    ok = sorted(r.seconds for r in timed if r.status == 200)
    errors = [r for r in run.results if r.status != 200]
    ms = lambda s: s * 1000  # noqa: E731
    return {
        "backend": run.backend, "clients": run.clients, "requests": len(timed),
        "p50": ms(percentile(ok, 50)), "p95": ms(percentile(ok, 95)), "p99": ms(percentile(ok, 99)),
        "max": ms(ok[-1]) if ok else float("nan"), "throughput": len(timed) / run.wall if run.wall else 0.0,
        "errors": len(errors), "examples": errors[:3],
        "server_cpu_ms": ms(run.server_cpu) / max(1, len(timed)), "client_cpu_ms": ms(run.client_cpu) / max(1, len(timed)),
        "by_kind": {kind: sorted(r.seconds for r in timed if r.kind == kind and r.status == 200)
                    for kind in sorted({r.kind for r in timed})},
    }


def print_table(rows: list[dict]) -> None:
    print("| backend | clients | requests | p50 ms | p95 ms | p99 ms | max ms | req/s | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['backend']} | {r['clients']} | {r['requests']} | {r['p50']:.0f} | {r['p95']:.0f} | "
              f"{r['p99']:.0f} | {r['max']:.0f} | {r['throughput']:.0f} | {r['errors']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client (default 40)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    parser.add_argument("--workers", type=int, default=None, help="passed to collab serve --workers")
    parser.add_argument("--threads", type=int, default=None, help="passed to collab serve --threads")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--no-posts", action="store_true", help="leave need/offer out of the mix")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each client pauses between commands, like a person (default 0: none, a stress test)")
    parser.add_argument("--server-log", action="store_true", help="print the server's log after each run")
    args = parser.parse_args(argv)

    mix = MIX
    if args.no_posts or not THEME_MODEL.exists():
        if not args.no_posts:
            print(f"note: {THEME_MODEL.relative_to(ROOT)} is missing, so need/offer are left out of the mix",
                  file=sys.stderr)
        mix = [(k, w) for k, w in MIX if k not in ("need", "offer")]
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"# {os.cpu_count()} CPUs, Python {platform.python_version()}, {args.clients} clients x "
          f"{args.requests} requests, mix {', '.join(f'{k} {w}' for k, w in mix)}", flush=True)

    rows = []
    for backend in backends:
        run = run_backend(backend, args, mix)
        row = report(run)
        rows.append(row)
        per_kind = ", ".join(f"{k} p99 {percentile(v, 99) * 1000:.0f}ms (n={len(v)})" for k, v in row["by_kind"].items())
        print(f"# {backend}: {per_kind}", flush=True)
        print(f"# {backend}: CPU per request: server {row['server_cpu_ms']:.1f} ms, load generator "
              f"{row['client_cpu_ms']:.1f} ms; wall {run.wall:.1f} s; other processes used "
              f"{run.other_cpu / run.wall if run.wall else 0:.2f} of {os.cpu_count()} CPUs meanwhile", flush=True)
        if backend == "postgresql":
            print(f"# {backend}: PostgreSQL used {run.db_cpu * 1000 / max(1, row['requests']):.1f} ms CPU per request "
                  f"and opened {run.db_connections} new connections during the load", flush=True)
        for example in row["examples"]:
            print(f"#   error: {example.kind} -> {example.status} {example.error}", flush=True)
        if args.server_log or row["errors"]:
            print(run.server[-4000:], file=sys.stderr)
    print()
    print_table(rows)
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
