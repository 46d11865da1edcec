"""``__in`` on integer fields ignores values no integer column can hold, as Django's ``exact`` already does.

Django answers ``pk=<beyond 64 bits>`` with an empty result, but ``pk__in=[...]`` sends the value to the
database, and SQLite raises ``OverflowError`` (a server error in every model multiple-choice filter,
chooser and bulk action given a huge id). Out-of-range values cannot match a row, so they are dropped.
"""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import IntegerField
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler


class IntegerFieldIn(In):
    def process_rhs(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
        low: int | None
        high: int | None
        try:
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
        except KeyError:  # an integer field of a type the backend has no range for
            low = high = None
        if self.rhs_is_direct_value():
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int)
                or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)


def register() -> None:
    IntegerField.register_lookup(IntegerFieldIn)
