"""First classification of a new lead by the rules managers edit (``ClassificationRule``)."""

from dataclasses import dataclass, field

from . import system_notes
from .models import ClassificationRule


@dataclass
class Classification:
    """What the enabled rules decided for a lead; ``rules`` lists the ones that matched, in order."""

    rules: list = field(default_factory=list)
    status: object = None
    tags: list = field(default_factory=list)
    priority: int | None = None
    skip_alerts: bool = False

    @property
    def reason(self):
        """Why, as stored: a code and the matched rules' names (``crm.system_notes`` reads it out)."""
        if not self.rules:
            return system_notes.encode(system_notes.NO_RULE_MATCHED)
        return system_notes.encode(
            system_notes.MATCHED_RULES, rules=[system_notes.named(rule) for rule in self.rules]
        )


def enabled_rules():
    return list(ClassificationRule.objects.filter(is_enabled=True).select_related("set_status"))


def evaluate(lead, rules=None):
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


def classify(lead, actor=None):
    """Re-run the rules on an existing lead through the service layer."""
    from .services import classify as classify_lead

    return classify_lead(lead, actor)
