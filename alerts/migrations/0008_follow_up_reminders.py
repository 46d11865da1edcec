"""Follow-up reminders: two new triggers (due in N minutes, overdue by N minutes) and their default rules,
to the person each follow-up is for, by email and WhatsApp (editable like any rule)."""

import datetime

from django.db import migrations, models

DEFAULT_RULES = [
    {
        "name": "Follow-up due in 15 minutes",
        "name_es": "Seguimiento que vence en 15 minutos",
        "trigger": "follow_up_due",
        "threshold": 15,
    },
    {
        "name": "Follow-up overdue",
        "name_es": "Seguimiento vencido",
        "trigger": "follow_up_overdue",
        "threshold": 30,
        "quiet_hours_start": datetime.time(21, 0),
        "quiet_hours_end": datetime.time(8, 0),
    },
]


def add_default_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for fields in DEFAULT_RULES:
        fields = dict(fields)
        AlertRule.objects.get_or_create(
            name=fields.pop("name"),
            defaults={**fields, "notify_assignee": True, "send_email": True, "send_whatsapp": True},
        )


def remove_default_rules(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    for fields in DEFAULT_RULES:
        AlertRule.objects.filter(name=fields["name"], trigger=fields["trigger"]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0007_channel_choices_from_registry'),
    ]

    operations = [
        migrations.AlterField(
            model_name='alertrule',
            name='message_en',
            field=models.TextField(blank=True, help_text='Optional. Placeholders: {contact_name} {company} {brand} {service} {source} {status} {priority} {assignee} {message} {link} {threshold}; for follow-up reminders also {task} {due} {note}.', verbose_name='message (English)'),
        ),
        migrations.AlterField(
            model_name='alertrule',
            name='notify_assignee',
            field=models.BooleanField(default=False, help_text='For follow-up reminders: the person the follow-up is for.', verbose_name='the assignee'),
        ),
        migrations.AlterField(
            model_name='alertrule',
            name='threshold',
            field=models.PositiveIntegerField(default=0, help_text='Minutes unassigned, hours without contact after assignment, days without activity, minutes before a follow-up is due or minutes it is overdue, depending on the trigger.', verbose_name='threshold'),
        ),
        migrations.AlterField(
            model_name='alertrule',
            name='trigger',
            field=models.CharField(choices=[('new_lead', 'New lead'), ('assigned', 'Lead assigned (to the assignee)'), ('status_changed', 'Status changed'), ('sla_unassigned', 'SLA: unassigned for N minutes'), ('sla_not_contacted', 'SLA: not contacted N hours after assignment'), ('stale', 'Stale lead: no activity for N days'), ('integration_failed', 'A WordPress source failing'), ('flagged_upstream', 'A worked lead marked spam or trash on its website'), ('follow_up_due', 'Follow-up reminder: due in N minutes'), ('follow_up_overdue', 'Follow-up reminder: overdue by N minutes')], max_length=24, verbose_name='trigger'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='trigger',
            field=models.CharField(choices=[('new_lead', 'New lead'), ('assigned', 'Lead assigned (to the assignee)'), ('status_changed', 'Status changed'), ('sla_unassigned', 'SLA: unassigned for N minutes'), ('sla_not_contacted', 'SLA: not contacted N hours after assignment'), ('stale', 'Stale lead: no activity for N days'), ('integration_failed', 'A WordPress source failing'), ('flagged_upstream', 'A worked lead marked spam or trash on its website'), ('follow_up_due', 'Follow-up reminder: due in N minutes'), ('follow_up_overdue', 'Follow-up reminder: overdue by N minutes')], max_length=24, verbose_name='trigger'),
        ),
        migrations.RunPython(add_default_rules, remove_default_rules),
    ]
