"""Reconciliation: what a source's site lists, compared with what the CRM holds, form by form."""

from typing import Any

from crm import tombstones
from crm.models import Lead

from .connectors import ACTIVE, connector_for, flag_of, numeric_id
from .models import SourceForm, Submission, WordPressSource
from .upstream import NON_SITE_PREFIXES


def reconcile(source: WordPressSource) -> dict[str, dict[str, Any]]:
    """Per form, the site compared with the CRM, like with like: ``{form_id: entry}``.

    Each status the shape lists (active; spam and trash where it lists them) is compared with the
    submissions the CRM holds under that status upstream: ``missing`` ids the site lists that the CRM
    lacks, ``extra`` ids the CRM holds under a listed status that the site does not list, ``mismatched``
    ``[id, site status, CRM status]`` for ids both hold under different statuses. Submissions the CRM
    holds as flagged where the shape hides flagged ones (legacy) are not compared with anything.
    Submissions of erased people (``crm.tombstones``) count as held as the site lists them: settled.
    """
    connector = connector_for(source)
    report = {}
    for form in source.forms.order_by("form_id"):
        site = {str(key): flag_of(status) for key, status in connector.list_statuses(form.form_id).items()}
        held = _held_statuses(source, form)
        for key in tombstones.erased_references(
            source.external_key, str(form.form_id), site.keys() - held.keys()
        ):
            held[key] = site[key]
        compared = set(connector.LISTED_STATUSES)
        mismatched = [
            [key, site[key], held[key]]
            for key in sorted(site.keys() & held.keys(), key=_sort_key)
            if site[key] != held[key]
        ]
        report[str(form.form_id)] = {
            "site": len(site),
            "crm": sum(1 for status in held.values() if status in compared),
            "missing": sorted(site.keys() - held.keys(), key=_sort_key),
            "extra": sorted(
                (key for key, status in held.items() if status in compared and key not in site), key=_sort_key
            ),
            "mismatched": mismatched,
        }
    return report


def _held_statuses(source: WordPressSource, form: SourceForm) -> dict[str, str]:
    """``{external id: status upstream}`` of the form's leads and quarantined or dismissed submissions."""
    statuses = dict.fromkeys(
        Lead.objects.filter(external_source=source.external_key, external_form=str(form.form_id)).values_list(
            "external_id", flat=True
        ),
        ACTIVE,
    )
    submissions = Submission.objects.filter(source=source, form_id=str(form.form_id)).values_list(
        "external_id", "state", "upstream_status"
    )
    settled = (Submission.State.QUARANTINED, Submission.State.DISMISSED)
    for key, state, status in submissions.order_by():
        if key in statuses or state in settled:
            statuses[key] = flag_of(status)
    return {key: status for key, status in statuses.items() if not key.startswith(NON_SITE_PREFIXES)}


def _sort_key(value: str) -> tuple[int, int, str]:
    number = numeric_id(value)
    return (0, number, "") if number is not None else (1, 0, value)
