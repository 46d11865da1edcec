"""SQL building blocks the dashboards need beyond Django's: percentiles and elapsed seconds.

PostgreSQL computes percentiles with ``percentile_cont``; SQLite gets an equivalent aggregate
function registered on each connection, so both back ends return the same interpolated value.
"""

import math

from django.db.models import Aggregate, FloatField, Func


class Percentile(Aggregate):
    """Continuous percentile (``fraction`` 0..1) of ``expression`` within each group."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction, **extra):
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(fraction), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="DASHBOARDS_PERCENTILE",
            template="%(function)s(%(expressions)s, %(fraction)s)",
            **extra_context,
        )


class Seconds(Func):
    """Seconds from ``start`` to ``end`` (two datetime expressions), as a float."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))",
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


def percentile_of(values, fraction):
    """``percentile_cont`` semantics: linear interpolation between the closest ranks."""
    ordered = sorted(value for value in values if value is not None)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _SQLitePercentile:
    def __init__(self):
        self.values = []
        self.fraction = 0.5

    def step(self, value, fraction):
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return percentile_of(self.values, self.fraction)


def register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("DASHBOARDS_PERCENTILE", 2, _SQLitePercentile)
