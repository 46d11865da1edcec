"""``make bench``: run the benchmark modules named on the command line (default: all) on PostgreSQL.

Each module in ``bench/`` that defines ``run(args)`` is a benchmark; it writes its own section of
``bench/RESULTS.md``.
"""

import argparse
import os
import sys
from importlib import import_module

MODULES = [
    "leads",
    "board",
    "dashboards",
    "homes",
    "sync",
    "forms",
    "alerts",
    "site_history",
    "imports",
    "privacy",
    "whatsapp",
    "mailbox",
    "webhooks",
    "api",
    "restore",
]


def main():
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("modules", nargs="*", default=MODULES)
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads in the volume dataset")
    parser.add_argument("--quick", action="store_true", help="small volumes, for a smoke run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="dashboards and homes: measure every case this many times, rounds interleaved, and report "
        "the median of the rounds (for a shared or busy machine)",
    )
    parser.add_argument(
        "--duration", type=int, default=None, help="load: seconds of load per mode (default 600; --quick 60)"
    )
    parser.add_argument(
        "--load-modes",
        default="one,two",
        help="load, comma-separated: 'one' (one app server and worker), 'two' (two of each behind a proxy, "
        "one of each killed), 'capacity-one', 'capacity-two' (no pauses, nothing killed)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intralog.settings.bench")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Benchmarks run on PostgreSQL: set DATABASE_URL (make bench does).")
    for name in args.modules:
        module = import_module(f"bench.{name}")
        print(f"== bench {name}", flush=True)
        module.run(args)


if __name__ == "__main__":
    main()
