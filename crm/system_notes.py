"""What the system writes about a lead (why it was classified, whom it repeats, which rule assigned it)
is stored as a code with its parameters, ``{"code": "matched_rules", "rules": [...]}``, and read in the
language of whoever reads it. Text that is no such code (people's notes, older rows) reads as stored.
"""

import json

from django.utils.translation import gettext as _

from crm.languages import localised

NO_RULE_MATCHED = "no_rule_matched"
MATCHED_RULES = "matched_rules"
REPEATS_LEAD = "repeats_lead"
REPEATS_EARLIER_SUBMISSION = "repeats_earlier_submission"
ASSIGNED_BY_RULE = "assigned_by_rule"
TAKEN_BY_HAND = "taken_by_hand"

PREFIX = '{"code": '


def encode(code, **params):
    return json.dumps({"code": code, **params}, ensure_ascii=False)


def named(rule):
    """A rule's names as a note keeps them: English and, when it has one, Spanish."""
    names = {"name": rule.name}
    if getattr(rule, "name_es", ""):
        names["name_es"] = rule.name_es
    return names


def rule_name(names):
    """The name of a rule recorded by ``named``, in the active language."""
    return localised(names.get("name", ""), names.get("name_es", ""))


def decode(stored):
    """``(code, params)`` of a stored code, or None for plain text."""
    if not stored or not stored.startswith(PREFIX):
        return None
    try:
        params = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(params, dict) or params.get("code") not in MESSAGES:
        return None
    return params.pop("code"), params


def _matched_rules(rules=()):
    names = ", ".join(f"“{rule_name(names)}”" for names in rules)
    return _("Matched rules: %(names)s.") % {"names": names}


def _repeats_earlier_submission(pk, previous=None):
    if previous is None:
        return _("Repeats lead #%(pk)s, submitted earlier.") % {"pk": pk}
    return _("Repeats lead #%(pk)s, submitted earlier than its previous original #%(previous)s.") % {
        "pk": pk,
        "previous": previous,
    }


MESSAGES = {
    NO_RULE_MATCHED: lambda: _("No classification rule matched."),
    MATCHED_RULES: _matched_rules,
    REPEATS_LEAD: lambda pk: _("Repeats lead #%(pk)s.") % {"pk": pk},
    REPEATS_EARLIER_SUBMISSION: _repeats_earlier_submission,
    ASSIGNED_BY_RULE: lambda rule: _("Assigned by rule “%(rule)s”.") % {"rule": rule_name(rule)},
    TAKEN_BY_HAND: lambda: _("Taken by hand."),
}


def register(code, message):
    """A feature app's own note: stored as ``code`` with its parameters, read through ``message(**params)``
    in the reader's language (call from the app's ``ready``)."""
    MESSAGES[code] = message


def render(stored):
    """The stored note or reason in the active language."""
    decoded = decode(stored)
    if decoded is None:
        return stored
    code, params = decoded
    try:
        return MESSAGES[code](**params)
    except (TypeError, AttributeError):
        return stored
