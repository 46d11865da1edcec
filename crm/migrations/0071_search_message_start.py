"""The listing searches the first ``crm.search.LISTING_ONLY_CHARS`` characters of a message: the search
text of leads with longer messages is written again (only theirs change)."""

from django.db import migrations


def refill(apps, schema_editor):
    from crm.search import refill_search_text

    refill_search_text(apps.get_model("crm", "Lead"), schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("crm", "0070_money_events")]

    operations = [migrations.RunPython(refill, migrations.RunPython.noop, elidable=True)]
