"""First classification of a new lead by the rules managers edit (``ClassificationRule``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import system_notes
from .models import ClassificationRule, Lead, PipelineStatus


@dataclass
class Classification:
    """What the enabled rules decided for a lead; ``rules`` lists the ones that matched, in order."""

    rules: list[ClassificationRule] = field(default_factory=list)
    status: PipelineStatus | None = None
    tags: list[str] = field(default_factory=list)
    priority: int | None = None
    skip_alerts: bool = False

    @property
    def reason(self) -> str:
        """Why, as stored: a code and the matched rules' names (``crm.system_notes`` reads it out)."""
        if not self.rules:
            return system_notes.encode(system_notes.NO_RULE_MATCHED)
        return system_notes.encode(
            system_notes.MATCHED_RULES, rules=[system_notes.named(rule) for rule in self.rules]
        )

    def apply(self, lead: Lead, reason: str | None = None) -> None:
        """Give ``lead`` the decided status, priority and alert flag, and the reason (this one's by default)."""
        if self.status is not None:
            lead.status = self.status
        if self.priority:
            lead.priority = self.priority
        lead.skip_alerts = lead.skip_alerts or self.skip_alerts
        lead.classification_reason = self.reason if reason is None else reason

    def event_data(self, reopen: str | None = None) -> dict[str, Any]:
        """The ``classified`` event's data; ``reopen``: the status a lead closed as junk upstream goes back to."""
        data: dict[str, Any] = {
            "rules": [rule.pk for rule in self.rules],
            "tags": self.tags,
            "priority": self.priority,
            "skip_alerts": self.skip_alerts,
        }
        if reopen:
            data.update(closed_upstream=True, reopen=reopen)
        return data


def enabled_rules() -> list[ClassificationRule]:
    return list(ClassificationRule.objects.filter(is_enabled=True).select_related("set_status"))


def evaluate(lead: Lead, rules: list[ClassificationRule] | None = None) -> Classification:
    """Run the enabled rules in order against ``lead`` (saved or not) and collect their actions.

    A later matching rule overrides the status and priority of an earlier one; tags add up.
    A matching rule with ``stop_processing`` ends the evaluation.
    """
    outcome = Classification()
    for rule in enabled_rules() if rules is None else rules:
        if not rule.matches(lead):
            continue
        outcome.rules.append(rule)
        if rule.set_status_id:
            outcome.status = rule.set_status
        if rule.set_priority:
            outcome.priority = rule.set_priority
        outcome.skip_alerts = outcome.skip_alerts or rule.skip_alerts
        outcome.tags.extend(tag for tag in rule.tag_list if tag not in outcome.tags)
        if rule.stop_processing:
            break
    return outcome
