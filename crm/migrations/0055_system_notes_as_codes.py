"""What the system writes about leads is stored as a code and read in the reader's language.

Classification rules get a Spanish name (the three seeded ones get theirs). Classification reasons, the
notes of ``classified`` events (reasons, "Repeats lead #…") and of ``assigned`` events ("Assigned by
rule …", "Taken by hand.") that are recognisable in English or Spanish become codes
(``crm.system_notes``); anything else stays as it is.

The rows are rewritten in primary-key ranges of ``BATCH``, each in its own short transaction (the
migration is not atomic), so the worker can keep writing leads while it runs. Rewriting every lead row
(23 indexes) is the cost: 200,000 leads and 1.4 million events took 80 to 150 s on PostgreSQL on a busy
two-core machine, so count minutes per million leads. It can run again safely.
"""

import json
import re

from django.db import migrations, models, transaction
from django.db.models import Case, Max, Min, Q, Value, When
from django.db.models.functions import Concat, Length, Substr

BATCH = 20_000

SEEDED_SPANISH_NAMES = {
    "Job seeker or vendor": "Busca trabajo u ofrece productos",
    "Link spam": "Spam de enlaces",
    "Spam keywords": "Palabras de spam",
}

NO_RULE = ("No classification rule matched.", "No coincidió ninguna regla de clasificación.")
MATCHED = re.compile(r"^(?:Matched rules|Reglas que coincidieron): (“.*”)\.$", re.S)
BY_RULE = re.compile(r"^(?:Assigned by rule|Asignado por la regla) “(.*)”\.$", re.S)
BY_HAND = ("Taken by hand.", "Tomado manualmente.")
REPEATS = (
    ("Repeats lead #", r"^Repeats lead #[0-9]+\.$"),
    ("Repite el lead #", r"^Repite el lead #[0-9]+\.$"),
)
CODE_PREFIX = '{"code": '


def encode(code, **params):
    return json.dumps({"code": code, **params}, ensure_ascii=False)


def _names(name, known):
    names = known.get(name)
    return dict(names) if names else {"name": name}


def _code(text, classification_rules, assignment_rules):
    if text in NO_RULE:
        return encode("no_rule_matched")
    if match := MATCHED.match(text):
        names = re.findall(r"“(.*?)”", match.group(1))
        return encode("matched_rules", rules=[_names(name, classification_rules) for name in names])
    if match := BY_RULE.match(text):
        return encode("assigned_by_rule", rule=_names(match.group(1), assignment_rules))
    if text in BY_HAND:
        return encode("taken_by_hand")
    return None


def _in_batches(queryset, update):
    """Apply ``update(rows)`` to ``queryset`` one primary-key range at a time, each in a transaction."""
    bounds = queryset.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, BATCH):
        with transaction.atomic():
            update(queryset.filter(pk__gte=start, pk__lt=start + BATCH))


def _convert(queryset, field, classification_rules, assignment_rules):
    texts = queryset.exclude(**{field: ""}).exclude(**{f"{field}__startswith": CODE_PREFIX})
    codes = {}
    for text in texts.values_list(field, flat=True).distinct().order_by():
        code = _code(text, classification_rules, assignment_rules)
        if code is not None:
            codes[text] = code
    if not codes:
        return
    coded = Case(
        *(When(**{field: text}, then=Value(code)) for text, code in codes.items()),
        output_field=models.TextField(),
    )
    _in_batches(queryset, lambda rows: rows.filter(**{f"{field}__in": list(codes)}).update(**{field: coded}))


def name_seeded_rules_in_spanish(apps, schema_editor):
    ClassificationRule = apps.get_model("crm", "ClassificationRule")
    for name, name_es in SEEDED_SPANISH_NAMES.items():
        ClassificationRule.objects.filter(name=name, name_es="").update(name_es=name_es)


def code_system_notes(apps, schema_editor):
    Lead = apps.get_model("crm", "Lead")
    LeadEvent = apps.get_model("crm", "LeadEvent")
    classification_rules, assignment_rules = {}, {}
    for rule in apps.get_model("crm", "ClassificationRule").objects.all():
        names = {"name": rule.name, **({"name_es": rule.name_es} if rule.name_es else {})}
        classification_rules.setdefault(rule.name, names)
        if rule.name_es:
            classification_rules.setdefault(rule.name_es, names)
    for rule in apps.get_model("crm", "AssignmentRule").objects.all():
        assignment_rules.setdefault(rule.name, {"name": rule.name})
    classified = LeadEvent.objects.filter(kind="classified")
    repeats = Q()
    for _prefix, pattern in REPEATS:
        repeats |= Q(note__regex=pattern)
    pk_of_original = Case(
        *(
            When(
                note__startswith=prefix,
                then=Substr("note", len(prefix) + 1, Length("note") - len(prefix) - 1),
            )
            for prefix, _pattern in REPEATS
        ),
        output_field=models.TextField(),
    )
    coded_repeat = Concat(
        Value(CODE_PREFIX + '"repeats_lead", "pk": '),
        pk_of_original,
        Value("}"),
        output_field=models.TextField(),
    )
    _in_batches(classified, lambda rows: rows.filter(repeats).update(note=coded_repeat))
    _convert(Lead.objects.all(), "classification_reason", classification_rules, assignment_rules)
    _convert(classified, "note", classification_rules, assignment_rules)
    _convert(LeadEvent.objects.filter(kind="assigned"), "note", classification_rules, assignment_rules)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("crm", "0054_event_actor_index_for_people_only")]

    operations = [
        migrations.AddField(
            model_name="classificationrule",
            name="name_es",
            field=models.CharField(
                blank=True,
                help_text="Shown to people who use the admin in Spanish; blank: the name above.",
                max_length=150,
                verbose_name="name (Spanish)",
            ),
        ),
        migrations.RunPython(name_seeded_rules_in_spanish, migrations.RunPython.noop),
        migrations.RunPython(code_system_notes, migrations.RunPython.noop, elidable=True),
    ]
