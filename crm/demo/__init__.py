"""Idempotent demo data. Demo passwords are public by design: never run this on a production database."""

from io import TextIOBase
from typing import Any

from .followups import seed_demo_follow_ups
from .leads import DEFAULT_DEMO_LEADS, seed_demo_leads
from .money import seed_demo_money
from .people import seed_people


def seed(stdout: TextIOBase, options: dict[str, Any]) -> None:
    seed_people()
    seed_demo_leads(options.get("leads", DEFAULT_DEMO_LEADS), stdout=stdout)
    money, rates = seed_demo_money()
    if money or rates:
        stdout.write(
            f"Demo money: {money} leads given a quote, a won amount or a lost reason; {rates} exchange rates."
        )
    planned = seed_demo_follow_ups()
    if planned:
        stdout.write(f"Demo follow-ups: planned {planned}.")
