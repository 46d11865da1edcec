"""CPU seconds of groups of processes on this machine, read from ``/proc``.

A process's own time is only visible while it runs, so a sampler reads every process's counters often
enough (``start()`` samples in a thread) to see it before it exits; its last reading counts. A child that
exits is waited for by its parent, whose counters then carry the child's time (a forked job, a restarted
web worker): a process whose parent is in the same group is counted through its parent once it is gone.
"""

import os
import threading
from collections.abc import Callable

TICKS = os.sysconf("SC_CLK_TCK")

Classify = Callable[[int, str], str | None]
"""Given a process's pid and title (its command line), the name of its group, or None to leave it out."""


def _title(pid: str) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()


def _ticks(pid: str) -> tuple[int, int, str]:
    """(own ticks, ticks of the children it waited for, parent pid)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), fields[1]


class ProcessCpu:
    """CPU seconds per group (``classify``) since the sampler was made."""

    def __init__(self, classify: Classify) -> None:
        self.classify = classify
        self.seen: dict[tuple[str, str], tuple[int, int, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sample()
        self.before = dict(self.seen)

    def sample(self) -> None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                group = self.classify(int(pid), _title(pid))
                if group is None:
                    continue
                own, children, parent = _ticks(pid)
            except (OSError, IndexError, ValueError):
                continue
            key = (group, pid)
            held = self.seen.get(key, (0, 0, parent))
            self.seen[key] = (max(held[0], own), max(held[1], children), parent)

    def seconds(self) -> dict[str, float]:
        self.sample()
        alive = set(filter(str.isdigit, os.listdir("/proc")))
        totals: dict[str, float] = {}
        for (group, pid), (own, children, parent) in self.seen.items():
            own_before, children_before, _parent = self.before.get((group, pid), (0, 0, parent))
            if pid not in alive and (group, parent) in self.seen:
                continue
            used = own - own_before + children - children_before
            totals[group] = totals.get(group, 0.0) + used / TICKS
        return totals

    def start(self, every: float = 0.5) -> "ProcessCpu":
        """Sample every ``every`` seconds in a thread until ``stop()``."""

        def loop() -> None:
            while not self._stop.wait(every):
                self.sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.seconds()


def postgres_backends(database: str) -> Classify:
    """The PostgreSQL processes serving ``database`` (backends and autovacuum workers) as group "postgres"."""
    marker = f" {database} "

    def classify(pid: int, title: str) -> str | None:
        return "postgres" if title.startswith("postgres: ") and marker in title + " " else None

    return classify


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (every core, every process)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS
