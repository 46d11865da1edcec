"""Jobs the worker tests enqueue by dotted name."""

import os

from django.db import connection


def process_and_connection() -> tuple[int, int]:
    """This process's id and the id of the database connection the job used."""
    connection.ensure_connection()
    return os.getpid(), id(connection.connection)


def break_connection() -> None:
    """Leave the connection unusable, as a database restart would."""
    connection.ensure_connection()
    connection.connection.close()
    connection.errors_occurred = True


def count_leads() -> int:
    from crm.models import Lead

    return Lead.objects.count()
