"""Application passwords and webhook secrets encrypted at rest (``encrypted_fields``, keys from SECRET_KEY)."""

import encrypted_fields.fields
from django.db import migrations

import wordpress.models

FIELDS = ("app_password", "webhook_secret")


def _rewrite(apps, schema_editor, value_for):
    """Rewrite each source's credentials in place, with raw SQL: the ORM would encrypt lookups and values again."""
    model = apps.get_model("wordpress", "WordPressSource")
    fields = [model._meta.get_field(name) for name in FIELDS]
    table = schema_editor.quote_name(model._meta.db_table)
    columns = [schema_editor.quote_name(field.column) for field in fields]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(columns)} FROM {table}")  # noqa: S608 - names from the model
        rows = cursor.fetchall()
        assignments = ", ".join(f"{column} = %s" for column in columns)
        for pk, *values in rows:
            new = [value_for(field, value) for field, value in zip(fields, values, strict=True)]
            cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*new, pk])  # noqa: S608


def encrypt(apps, schema_editor):
    _rewrite(apps, schema_editor, lambda field, value: field.get_prep_value(field.to_python(value)))


def decrypt(apps, schema_editor):
    _rewrite(apps, schema_editor, lambda field, value: field.to_python(value) or "")


class Migration(migrations.Migration):
    dependencies = [
        ("wordpress", "0003_submission_source_covered_by_unique"),
    ]

    operations = [
        migrations.AlterField(
            model_name="wordpresssource",
            name="app_password",
            field=encrypted_fields.fields.EncryptedCharField(
                blank=True, editable=False, max_length=200, null=True, verbose_name="application password"
            ),
        ),
        migrations.AlterField(
            model_name="wordpresssource",
            name="webhook_secret",
            field=encrypted_fields.fields.EncryptedCharField(
                default=wordpress.models.new_webhook_secret, max_length=128, verbose_name="webhook secret"
            ),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
