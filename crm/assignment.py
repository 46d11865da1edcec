"""Automatic assignment of new leads (rules are added by the leads feature)."""


def auto_assign(lead):
    return None
