"""First classification of a new lead (rules are added by the leads feature)."""


def classify(lead):
    return None
