"""Load and scale-out, measured: a whole team at once against gunicorn, RQ and the scheduler on
PostgreSQL and Redis, then the same on two app servers and two workers behind a proxy, with a worker and
an app server killed during the run.

``python -m bench load`` (``--quick``: 60 s a run; ``--duration`` seconds; ``--load-modes one,two``)
runs in a child process on its own database and Redis (``LOAD_BENCH_DATABASE_URL``, default
``intralog_bench_load``; ``LOAD_BENCH_REDIS_URL``, default Redis database 11). For each mode it prepares
the data (``bench.load_scenario.prepare``), starts the servers, plays the team with Locust
(``bench/locustfile.py``, headless: 30 reps, 5 managers, visitors sending ~5 lead forms a second and
WordPress sites posting ~10 signed webhooks a second), waits until the jobs have settled, pulls the fake
WordPress site once more, and checks that nothing was lost or doubled (``bench.load_scenario.check``).

Modes: ``one``: one gunicorn (``LOAD_WEB_WORKERS`` sync workers, default 4), one RQ worker (with RQ's
scheduler) and the periodic scheduler (``rqcron``), as ``deploy/systemd`` runs them (the worker and the
scheduler at ``Nice=5``). ``two``: two
gunicorns and two RQ workers on their own ports and processes, one scheduler, behind Debian's HAProxy
(health checks on ``/healthz``; at most as many requests at once on a server as it has workers, the rest
wait in the proxy's queue, so a busy server still answers its health check); at 35 % of the run one RQ worker is killed (SIGKILL to its process
group, the job it held abandoned) and at 55 % one app server (its master and workers). ``capacity-one`` and
``capacity-two``: the same setups, nothing killed, reps and managers clicking without pause, to compare
what one and two app servers can serve. ``LOAD_APP_CORES`` (say ``0.5``) holds each app server to that
many cores with a CPU cgroup of its own, as a separate host of that size would be: on one machine, a second
app server can add capacity only when each is held to its share (the rest shares the machine).

The guards stay on, with settings the load needs: the lead form's per-address rate limit is off (every
visitor comes from 127.0.0.1), no role must use two-factor sign-in (``TWO_FACTOR_REQUIRED_ROLES`` empty:
the reps and managers sign in through the login form with their password), and alerts a killed worker
left "sending" are taken back after 2 minutes rather than 10 (``ALERTS_STUCK_AFTER_SECONDS``), so the
wait for the jobs to settle after the run sees them through.
"""

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.cpu import ProcessCpu, machine_busy_seconds, postgres_backends
from bench.harness import create_database

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "LOAD_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_load"
)
REDIS_URL = os.environ.get("LOAD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
LEADS = int(os.environ.get("LOAD_BENCH_LEADS", "50000"))
WEB_WORKERS = int(os.environ.get("LOAD_WEB_WORKERS", "4"))
# Cores each app server may use (a CPU quota of its own, as a separate host of that size has), or
# unlimited: on one machine, adding an app server can only add capacity where each is held to its share.
APP_CORES = float(os.environ.get("LOAD_APP_CORES", "0") or 0)
CPU_CGROUPS = Path("/sys/fs/cgroup/cpu")
DEFAULT_SECONDS, QUICK_SECONDS = 600, 60
SETTLE_SECONDS = 240
ADMIN_P95_TARGET_MS = 500
KILL_WORKER_AT, KILL_SERVER_AT = 0.35, 0.55
BACKGROUND_NICE = 5
SITE_ADDS_EVERY = 3.0
USERS = {"LOAD_REPS": 30, "LOAD_MANAGERS": 5, "LOAD_VISITORS": 25, "LOAD_SITES": 10}
MODE_TITLES = {
    "one": "one app server + one worker",
    "two": "two app servers + two workers behind HAProxy, one of each killed mid-run",
    "capacity-one": "capacity, one app server + one worker (reps and managers without pause)",
    "capacity-two": "capacity, two app servers + two workers behind HAProxy (reps and managers without pause)",
}
# The capacity modes let reps and managers click as fast as the servers answer and kill nothing, so the
# requests/s of one and two app servers compare what each setup can serve.
NO_PAUSE = {
    "LOAD_REP_WAIT_MIN": "0",
    "LOAD_REP_WAIT_MAX": "1",
    "LOAD_MANAGER_WAIT_MIN": "0",
    "LOAD_MANAGER_WAIT_MAX": "1",
}


def scaled_out(mode):
    """Whether ``mode`` runs two app servers and two workers behind the proxy."""
    return mode in ("two", "capacity-two")


def run(args):
    """Entry point for ``python -m bench load``: the runs happen in a child process."""
    seconds = getattr(args, "duration", None) or (
        QUICK_SECONDS if getattr(args, "quick", False) else DEFAULT_SECONDS
    )
    modes = getattr(args, "load_modes", None) or "one,two"
    subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench.load",
            "child",
            str(seconds),
            modes,
            "1" if getattr(args, "quick", False) else "0",
        ],
        cwd=BASE_DIR,
        env=child_env(),
        check=True,
    )


def child_env():
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="intralog.settings.bench",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        TWO_FACTOR_REQUIRED_ROLES="",
        LEAD_FORM_RATE_LIMIT="0",
        ALERTS_QUEUE="high",
        ALERTS_STUCK_AFTER_SECONDS="120",
    )
    return env


@dataclass
class Services:
    """The processes of one mode; each in its own process group, so one can be killed whole."""

    processes: dict = field(default_factory=dict)
    logs: Path = None
    events: list = field(default_factory=list)
    quotas: list = field(default_factory=list)

    def start(self, name, command, cores=0.0):
        """Start ``command``; with ``cores``, it and every process it forks share that CPU quota."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        join = None
        if cores:
            procs = cpu_quota(f"intralog-load-{os.getpid()}-{name}", cores)
            self.quotas.append(procs.parent)

            def join():
                procs.write_text(str(os.getpid()))

        self.processes[name] = subprocess.Popen(  # noqa: S603, PLW1509 - only writes its own pid
            command,
            cwd=BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=join,
        )

    def kill(self, name, started):
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        self.events.append(
            f"{name} killed (SIGKILL to its process group) at {time.monotonic() - started:.0f} s"
        )

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for quota in self.quotas:
            _remove_quota(quota)
        self.quotas.clear()


def cpu_quota(name, cores):
    """A CPU cgroup (v1) allowing ``cores`` cores; returns its ``cgroup.procs``, which a process joins."""
    group = CPU_CGROUPS / name
    try:
        group.mkdir(exist_ok=True)
        period = int((group / "cpu.cfs_period_us").read_text())
        (group / "cpu.cfs_quota_us").write_text(str(int(period * cores)))
    except OSError as error:
        raise RuntimeError(
            f"LOAD_APP_CORES needs a writable CPU cgroup under {CPU_CGROUPS} (cgroup v1, as root): {error}"
        ) from error
    return group / "cgroup.procs"


def _remove_quota(group):
    for _attempt in range(50):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(port, timeout=180):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:  # noqa: PLR2004
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"Nothing healthy on port {port}")


def gunicorn_command(port):
    return [
        sys.executable, "-m", "gunicorn", "intralog.wsgi",
        "--workers", str(WEB_WORKERS), "--bind", f"127.0.0.1:{port}",
        "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning",
    ]  # fmt: skip


def manage(*arguments):
    return [sys.executable, "manage.py", *arguments]


def background(command):
    """At the CPU priority ``deploy/systemd`` gives the worker and the scheduler (``Nice=``)."""
    return ["nice", "-n", str(BACKGROUND_NICE), *command]


def haproxy_config(port, backends):
    """The shipped ``deploy/haproxy/intralog.cfg`` on ``port``, with ``backends`` (ports on 127.0.0.1) as its
    servers, each taking ``WEB_WORKERS`` requests at a time."""
    shipped = (BASE_DIR / "deploy" / "haproxy" / "intralog.cfg").read_text()
    lines = []
    for line in shipped.splitlines():
        words = line.split()
        if words[:1] == ["server"]:
            continue
        if words[:1] == ["bind"]:
            line = f"    bind 127.0.0.1:{port}"
        elif words[:1] == ["default-server"]:
            line = re.sub(r"maxconn \d+", f"maxconn {WEB_WORKERS}", line)
        lines.append(line)
    lines += [f"    server app{index} 127.0.0.1:{backend}" for index, backend in enumerate(backends, 1)]
    return "\n".join(lines) + "\n"


def start_mode(mode, logs):
    """Start the servers of ``mode``; returns (services, the address the team uses, what runs)."""
    from core.jobs import get_queue

    for name in ("high", "default", "low"):
        get_queue(name).empty()
    services = Services(logs=logs)
    app_count = worker_count = 2 if scaled_out(mode) else 1
    ports = [free_port() for _ in range(app_count)]
    for index, port in enumerate(ports, 1):
        services.start(f"app{index}", gunicorn_command(port), cores=APP_CORES)
    for index in range(1, worker_count + 1):
        services.start(
            f"worker{index}", background(manage("rqworker", "high", "default", "low", "--with-scheduler"))
        )
    services.start("scheduler", background(manage("rqcron", "intralog.schedule")))
    try:
        return _serve(mode, services, ports, logs)
    except Exception:
        services.stop()
        raise


def _held(each=""):
    return f", held to {APP_CORES:g} CPU cores{each} by a quota" if APP_CORES else ""


def _serve(mode, services, ports, logs):
    for port in ports:
        wait_until_healthy(port)
    if not scaled_out(mode):
        return (
            services,
            f"http://127.0.0.1:{ports[0]}",
            f"gunicorn ({WEB_WORKERS} sync workers{_held()}), 1 RQ worker, 1 scheduler",
        )
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise RuntimeError("The scale-out mode needs HAProxy: apt-get install haproxy")
    proxy_port = free_port()
    config = logs / "haproxy.cfg"
    config.write_text(haproxy_config(proxy_port, ports))
    services.start("proxy", [haproxy, "-db", "-f", str(config)])
    wait_until_healthy(proxy_port)
    return (
        services,
        f"http://127.0.0.1:{proxy_port}",
        f"2 × gunicorn ({WEB_WORKERS} sync workers{_held(' each')}), 2 RQ workers, 1 scheduler, HAProxy round robin",
    )


MACHINE = "machine"
CPU_GROUPS = {"app": "app servers", "worker": "RQ workers", "scheduler": "scheduler", "proxy": "HAProxy"}


def cpu_of_run(services):
    """CPU seconds during the run per part: the services (by process group), PostgreSQL's backends of the
    load database, Redis, Locust, and this process (the fake WordPress site and the feeder)."""
    groups = {
        process.pid: CPU_GROUPS[name.rstrip("0123456789")] for name, process in services.processes.items()
    }
    postgres = postgres_backends(DATABASE_URL.rsplit("/", 1)[1])
    own = os.getpid()

    def classify(pid, title):
        if pid == own:
            return "bench (fake WordPress)"
        if "locust" in title:
            return "Locust"
        if title.startswith("redis-server"):
            return "Redis"
        try:
            group = groups.get(os.getpgid(pid))
        except OSError:
            return None
        return group or postgres(pid, title)

    return ProcessCpu(classify)


def feed_site(site, stop):
    """New submissions on the fake WordPress site while the team works (pulled by the scheduled syncs)."""
    turn = 0
    while not stop.wait(SITE_ADDS_EVERY):
        site.add("3" if turn % 3 else "7")
        turn += 1


def play(mode, seconds, base_url, plan_path, marks_path, csv_prefix, services):
    """Locust headless for ``seconds``; in the mode ``two``, kill a worker and an app server on the way."""
    env = {**os.environ, "LOAD_PLAN": str(plan_path), "LOAD_MARKS": str(marks_path)}
    if mode.startswith("capacity"):
        env.update(NO_PAUSE)
    for name, count in USERS.items():
        env.setdefault(name, str(count))
    users = sum(int(env[name]) for name in USERS)
    command = [
        sys.executable, "-m", "locust", "-f", str(BASE_DIR / "bench" / "locustfile.py"), "--headless",
        "--users", str(users), "--spawn-rate", "10", "--run-time", f"{seconds}s", "--host", base_url,
        "--csv", str(csv_prefix), "--only-summary", "--stop-timeout", "15", "--loglevel", "WARNING",
    ]  # fmt: skip
    started = time.monotonic()
    with csv_prefix.with_suffix(".log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=log)  # noqa: S603
        if mode == "two":
            for fraction, name in ((KILL_WORKER_AT, "worker2"), (KILL_SERVER_AT, "app2")):
                time.sleep(max(0.0, started + seconds * fraction - time.monotonic()))
                services.kill(name, started)
        locust.wait()
    return time.monotonic() - started


@dataclass
class PageStats:
    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    max_ms: float
    per_second: float


def read_stats(csv_prefix):
    rows = []
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.exists():
        return rows
    with path.open() as handle:
        for row in csv.DictReader(handle):
            rows.append(
                PageStats(
                    row["Name"],
                    int(row["Request Count"]),
                    int(row["Failure Count"]),
                    float(row["Median Response Time"] or 0),
                    float(row["95%"] if row["95%"] not in ("", "N/A") else 0),
                    float(row["Max Response Time"] or 0),
                    float(row["Requests/s"] or 0),
                )
            )
    return rows


def read_failures(csv_prefix):
    path = Path(f"{csv_prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open() as handle:
        return [(row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(handle)]


def is_admin_page(name):
    return name.startswith(("rep:", "manager:")) and "POST" not in name


@dataclass
class ModeResult:
    mode: str
    setup: str
    seconds: float
    stats: list
    failures: list
    checks: object
    events: list
    settled: bool
    load: tuple
    cpu: dict = field(default_factory=dict)

    def aggregated(self):
        return next((row for row in self.stats if row.name == "Aggregated"), None)


def run_mode(mode, seconds, workdir, n_leads):
    from django.db import connection

    from bench import load_scenario
    from wordpress.fake import FakeWordPress
    from wordpress.models import WordPressSource
    from wordpress.sync import sync_source

    site = FakeWordPress(forms={"3": 20, "7": 10}, seed=23)
    site.start()
    logs = workdir / mode
    logs.mkdir(parents=True, exist_ok=True)
    plan_path, marks_path, csv_prefix = logs / "plan.json", logs / "marks.jsonl", logs / "locust"
    marks_path.unlink(missing_ok=True)
    print(f"[{mode}] preparing the data …", flush=True)
    load_scenario.prepare(n_leads, site, plan_path, stdout=sys.stdout)
    connection.close()
    services, base_url, setup = start_mode(mode, logs)
    stop_feed = threading.Event()
    feeder = threading.Thread(target=feed_site, args=(site, stop_feed), daemon=True)
    try:
        print(f"[{mode}] {setup} at {base_url}; the team plays for {seconds} s …", flush=True)
        since = datetime.now(UTC)
        feeder.start()
        cpu, busy = cpu_of_run(services).start(), machine_busy_seconds()
        elapsed = play(mode, seconds, base_url, plan_path, marks_path, csv_prefix, services)
        cpu_seconds = {**cpu.stop(), MACHINE: machine_busy_seconds() - busy}
        load = os.getloadavg()
        stop_feed.set()
        feeder.join()
        sync_source(WordPressSource.objects.get(slug=load_scenario.SOURCE_SLUG))
        print(f"[{mode}] waiting for the jobs to settle …", flush=True)
        settled = load_scenario.settled(SETTLE_SECONDS)
    finally:
        stop_feed.set()
        services.stop()
    checks = load_scenario.check(marks_path, since, site)
    site.stop()
    return ModeResult(
        mode,
        setup,
        elapsed,
        read_stats(csv_prefix),
        read_failures(csv_prefix),
        checks,
        services.events,
        settled,
        load,
        {group: used / elapsed for group, used in cpu_seconds.items()},
    )


def _verdict(ok):
    return "✅" if ok else "❌"


def mode_section(result):
    aggregated = result.aggregated()
    lines = [
        f"{result.setup}; {result.seconds:.0f} s of load; load average (1/5/15 min) at the end "
        + " / ".join(f"{value:.1f}" for value in result.load)
        + (f". {'; '.join(result.events)}." if result.events else "."),
        "",
    ]
    if result.cpu:
        parts = {group: cores for group, cores in result.cpu.items() if group != MACHINE}
        busy = sorted(parts.items(), key=lambda item: -item[1])
        lines += [
            f"CPU during the load, in cores busy on average (of {os.cpu_count()}): "
            + ", ".join(f"{group} {cores:.2f}" for group, cores in busy)
            + f"; these {sum(parts.values()):.2f}, the whole machine {result.cpu.get(MACHINE, 0):.2f}.",
            "",
        ]
    if aggregated:
        lines.append(
            f"**{aggregated.per_second:.1f} requests/s**, {aggregated.requests} requests, "
            f"{aggregated.failures} errors; jobs settled after the run: {'yes' if result.settled else 'NO (timed out)'}."
        )
        lines.append("")
    lines += [
        f"| page | requests | errors | median ms | p95 ms | max ms | p95 ≤ {ADMIN_P95_TARGET_MS} ms (admin pages) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result.stats:
        if row.name == "Aggregated":
            continue
        target = _verdict(row.p95_ms <= ADMIN_P95_TARGET_MS) if is_admin_page(row.name) else ""
        lines.append(
            f"| {row.name} | {row.requests} | {row.failures} | {row.median_ms:.0f} | {row.p95_ms:.0f} | {row.max_ms:.0f} | {target} |"
        )
    if result.failures:
        lines += ["", "Errors as Locust saw them:", "", "| request | error | count |", "|---|---|---|"]
        lines += [
            f"| {name} | {error[:160].replace('|', '/')} | {count} |"
            for name, error, count in result.failures
        ]
    lines += ["", "After the run (each mode starts from a database cleared of the earlier runs' leads):", ""]
    lines.append(result.checks.table())
    return "\n".join(lines)


def headline(result, quick, machine):
    """The first lines of a mode's section: what kind of run, on what, and its summary."""
    aggregated = result.aggregated()
    admin = [row.p95_ms for row in result.stats if is_admin_page(row.name)]
    wrong = sum(row.lost + row.doubled for row in result.checks.rows)
    kind = (
        "**Smoke run** ({seconds:.0f} s) on a shared, busy machine (other engineers' tests and benchmarks "
        "running): it proves the harness, not the targets."
        if quick
        else "Full run ({seconds:.0f} s)."
    ).format(seconds=result.seconds)
    figures = (
        f"{aggregated.per_second:.1f} requests/s, {aggregated.failures} errors, worst admin page p95 "
        f"{max(admin, default=0):.0f} ms, {wrong} lost or doubled"
        if aggregated
        else "no statistics from Locust"
    )
    return f"{kind} Machine: {machine}, at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n\n**{figures}.**\n\n"


DESCRIPTION = f"""
How a whole team at once fares (`python -m bench load`; the modes' figures are in the two sections below,
each written by its last run). The team (Locust, headless, `bench/locustfile.py`): {USERS["LOAD_REPS"]}
reps signing in through the login form and working their own leads (listing, search, lead page, status
change and note through the real forms with CSRF, their home), {USERS["LOAD_MANAGERS"]} managers on the
four dashboards and the listing, {USERS["LOAD_VISITORS"]} visitors sending about 5 lead forms a second (page,
a few seconds to fill in, POST), {USERS["LOAD_SITES"]} WordPress sites posting about 10 signed webhooks a
second (a failed post sent again under the same delivery id), and the fake WordPress site gaining a
submission every {SITE_ADDS_EVERY:.0f} s, pulled by the scheduled syncs (one more pull after the run). New
leads alert their brand's managers by email. {LEADS:,} leads in the load database; Redis for jobs, cache
and sessions.

Targets: p95 ≤ {ADMIN_P95_TARGET_MS} ms for every admin page, 0 errors, 0 lost leads; more throughput on
two app servers.

After each run: lost = acknowledged to the sender (2xx, or the redirect after a form) and not in the
database once; doubled = in the database more than once. "Not acknowledged" are requests that got an error
(a killed server's connection, a full queue): the visitor saw an error and may send again; a webhook is
retried by its site under the same delivery id.

Full run (10 minutes a mode, on a quiet machine; HAProxy from Debian, `apt-get install haproxy`):
`make bench BENCH_ARGS=load`, i.e.
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/intralog_bench .venv/bin/python -m bench load`
(the load itself runs on `intralog_bench_load` and Redis database 11: `LOAD_BENCH_DATABASE_URL`,
`LOAD_BENCH_REDIS_URL`). One mode: `--load-modes one` or `--load-modes two`; another length: `--duration`.
The users keep a person's pace, so at a pace the servers keep up with both modes serve the same requests/s;
to compare capacity, the modes `capacity-one` and `capacity-two` let reps and managers click without pause
and kill nothing: `make bench BENCH_ARGS="load --load-modes capacity-one,capacity-two"`; with
`LOAD_APP_CORES=0.5` each app server is held to half a core (a CPU cgroup of its own), as separate small
hosts would be.
"""


def child(seconds, modes, quick):
    unknown = [mode for mode in modes if mode not in MODE_TITLES]
    if unknown:
        raise SystemExit(f"Unknown load modes {', '.join(unknown)}: choose from {', '.join(MODE_TITLES)}")
    create_database(DATABASE_URL)
    import django

    django.setup()
    from bench.harness import machine_line, write_section

    write_section("load", "Load and scale-out: a team at once", DESCRIPTION)
    workdir = Path(tempfile.mkdtemp(prefix="intralog-load-"))
    for mode in modes:
        result = run_mode(mode, seconds, workdir, LEADS)
        body = headline(result, quick, machine_line()) + mode_section(result)
        write_section(f"load-{mode}", f"Load: {MODE_TITLES[result.mode]}", body)
        print(body, flush=True)
    print(f"logs and Locust's CSV files: {workdir}")


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child(int(sys.argv[2]), [mode for mode in sys.argv[3].split(",") if mode], sys.argv[4] == "1")
