"""Demo data: the team rollup, rebuilt after the demo leads and their events were bulk-inserted."""

from . import rollup


def seed(stdout, options):
    rollup.rebuild()
