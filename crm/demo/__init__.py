"""Idempotent demo data. Demo passwords are public by design: never run this on a production database."""

from io import TextIOBase
from typing import Any

from .followups import seed_demo_follow_ups
from .leads import DEFAULT_DEMO_LEADS, seed_demo_leads
from .people import seed_people


def seed(stdout: TextIOBase, options: dict[str, Any]) -> None:
    seed_people()
    seed_demo_leads(options.get("leads", DEFAULT_DEMO_LEADS), stdout=stdout)
    planned = seed_demo_follow_ups()
    if planned:
        stdout.write(f"Demo follow-ups: planned {planned}.")
