"""A submission's raw payload compressed with LZ4 (PostgreSQL 14+), as the lead's large columns are
(``crm`` migration 0057): cheaper to write than the default pglz, and faster to read back. Only values
written from now on use it. Nothing happens on other databases or on a server built without LZ4.
"""

from django.db import migrations


def _set_compression(schema_editor, method):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    if row is None or "lz4" not in row[0]:
        return
    schema_editor.execute(
        f'ALTER TABLE "wordpress_submission" ALTER COLUMN "payload" SET COMPRESSION {method}'
    )


def use_lz4(apps, schema_editor):
    _set_compression(schema_editor, "lz4")


def use_default(apps, schema_editor):
    _set_compression(schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [("wordpress", "0005_source_lacks_rights_and_complete_rescan")]

    operations = [migrations.RunPython(use_lz4, use_default, elidable=False)]
