"""The CRM's demo data: one login per role, the sales team and generated leads. Idempotent."""

from typing import Any

from .leads import DEFAULT_DEMO_LEADS, seed_demo_leads
from .people import DEMO_PASSWORD, seed_people

__all__ = ["DEMO_PASSWORD", "seed", "seed_people"]


def seed(stdout: Any, options: dict[str, Any]) -> None:
    seed_people()
    seed_demo_leads(options.get("leads", DEFAULT_DEMO_LEADS), stdout=stdout)
