"""SQL building blocks the dashboards need beyond Django's: percentiles, elapsed seconds, grouping sets.

PostgreSQL computes percentiles with ``percentile_cont``; SQLite gets an equivalent aggregate
function registered on each connection, so both back ends return the same interpolated value.
"""

import datetime
import math
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import (
    Aggregate,
    BooleanField,
    DurationField,
    Expression,
    F,
    FloatField,
    Func,
    IntegerField,
    Subquery,
    Value,
)


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
    """Seconds from ``start`` to ``end`` (two datetime expressions), as a float.

    On PostgreSQL ``date_part`` (a float) rather than ``EXTRACT`` (a numeric since PostgreSQL 14,
    several times slower to compute and to sort for the percentiles over many rows).
    """

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="date_part('epoch', %(expressions)s)",
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


class Duration(Value):
    """A fixed ``datetime.timedelta`` to add to or subtract from a datetime column.

    PostgreSQL gets it as seconds (``make_interval(secs => ...)``, folded into a constant when the query
    is planned): psycopg sends a ``timedelta`` of a day or more as days, and adding days to a timestamp
    takes PostgreSQL through the calendar of the session's time zone on every row, several times slower
    over many rows. Django's sessions are in UTC, where a day is 86,400 seconds, so both are equal (and
    equal to Python's arithmetic on aware datetimes).
    """

    def __init__(self, value):
        super().__init__(value, output_field=DurationField())

    def as_postgresql(self, compiler, connection):
        return "make_interval(secs => %s)", [self.value.total_seconds()]


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
        connection.connection.create_function(
            "DASHBOARDS_BUSINESS_CLOCK", 4, _sqlite_business_clock, deterministic=True
        )


WEEK_OFFSET = 3  # 1970-01-01, day 0 of the epoch, was a Thursday: (day + 3) % 7 is 0 on Mondays


def business_clock(value, start_hour, end_hour, tzinfo):
    """Business seconds from a fixed Monday to ``value``: Monday to Friday, ``start_hour`` to ``end_hour``
    local time. The business time between two moments is the difference of their clocks."""
    if value is None:
        return None
    local = value.astimezone(tzinfo).replace(tzinfo=None)
    seconds = (local - datetime.datetime(1970, 1, 1)).total_seconds()
    day = math.floor(seconds / 86400)
    weekday = (day + WEEK_OFFSET) % 7
    start, length = start_hour * 3600, (end_hour - start_hour) * 3600
    days_before = ((day + WEEK_OFFSET) // 7) * 5 + min(weekday, 5)
    today = min(max(seconds - day * 86400 - start, 0), length) if weekday < 5 else 0
    return days_before * length + today


class BusinessClock(Func):
    """``business_clock`` of a datetime expression, in SQL (a registered function on SQLite)."""

    output_field = FloatField()
    arity = 1

    def __init__(self, expression, start_hour, end_hour, tzname, **extra):
        self.start_hour, self.end_hour, self.tzname = int(start_hour), int(end_hour), str(tzname)
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra_context):
        inner, inner_params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "sqlite":
            return (
                f"DASHBOARDS_BUSINESS_CLOCK({inner}, %s, %s, %s)",
                (*inner_params, self.tzname, self.start_hour, self.end_hour),
            )
        token = "\x00"  # noqa: S105
        day = f"FLOOR({token} / 86400)"
        weekday = f"MOD(({day})::int + {WEEK_OFFSET}, 7)"
        start, length = self.start_hour * 3600, (self.end_hour - self.start_hour) * 3600
        sql = (
            f"((FLOOR(({day} + {WEEK_OFFSET}) / 7) * 5 + LEAST({weekday}, 5)) * {length}"
            f" + CASE WHEN {weekday} < 5 THEN LEAST(GREATEST({token} - {day} * 86400 - {start}, 0), {length})"
            " ELSE 0 END)"
        )
        uses = sql.count(token)
        seconds = f"EXTRACT(EPOCH FROM ({inner} AT TIME ZONE %s))::float8"
        return sql.replace(token, seconds), (*inner_params, self.tzname) * uses


def _sqlite_business_clock(value, tzname, start_hour, end_hour):
    if value is None:
        return None
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return business_clock(moment, start_hour, end_hour, ZoneInfo(tzname))


class AnyOf(Expression):
    """A condition: ``column`` is one of the values ``queryset`` selects (one column).

    PostgreSQL gets ``column = ANY(ARRAY(subquery))``: an index led by ``column`` is then read value by
    value, each value's entries in the index's order, so a grouping by ``column`` needs no sort. Other
    back ends get ``column IN (subquery)``.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column, queryset):
        super().__init__()
        self.column, self.subquery = F(column), Subquery(queryset)

    def get_source_expressions(self):
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs):
        self.column, self.subquery = exprs

    def as_sql(self, compiler, connection, template="%s IN %s"):
        column, column_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return template % (column, subquery), (*column_params, *subquery_params)

    def as_postgresql(self, compiler, connection):
        return self.as_sql(compiler, connection, template="%s = ANY(ARRAY%s)")


class SegmentOf(Expression):
    """The segment of ``bounds`` (sorted datetimes) a datetime column falls in: ``i`` when
    ``bounds[i - 1] <= column < bounds[i]``, 0 before the first bound, ``len(bounds)`` from the last.

    PostgreSQL gets ``width_bucket(column, bounds)`` (a binary search, the same cost for a thousand
    bounds as for two), other back ends a ``CASE`` over the bounds.
    """

    output_field = IntegerField()

    def __init__(self, column, bounds):
        super().__init__()
        self.column, self.bounds = F(column), list(bounds)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        whens = " ".join(f"WHEN {column} < %s THEN {index}" for index in range(len(self.bounds)))
        bounds = [connection.ops.adapt_datetimefield_value(bound) for bound in self.bounds]
        return f"CASE {whens} ELSE {len(self.bounds)} END", [
            param for bound in bounds for param in (*params, bound)
        ]

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return f"width_bucket({column}, %s::timestamptz[])", [*params, self.bounds]


class GroupingSets:
    """Aggregates over the rows of a queryset, grouped by several sets of its columns in ONE query:
    ``GROUP BY GROUPING SETS`` on PostgreSQL, a ``UNION ALL`` of grouped selects elsewhere.

    ``columns``: name → expression of the rows (compiled from the queryset); ``aggregates``: name →
    ``(function, column, argument)`` with function one of count (the non-null values), count_true (the
    rows where a boolean column is true), sum, percentile. ``sets`` may be ``[()]``: one row over all
    the rows.
    """

    def __init__(self, queryset, columns, sets, aggregates):
        self.queryset, self.columns, self.sets, self.aggregates = queryset, columns, sets, aggregates

    def _aggregate_sql(self, vendor, function, column, argument):
        if function == "count":
            return f"COUNT(t.{column})"
        if function == "count_true":
            if vendor == "postgresql":
                return f"COUNT(*) FILTER (WHERE t.{column})"
            return f"COUNT(CASE WHEN t.{column} THEN 1 END)"
        if function == "sum":
            return f"SUM(t.{column})"
        if vendor == "postgresql":
            return f"PERCENTILE_CONT({float(argument)!r}) WITHIN GROUP (ORDER BY t.{column})"
        return f"DASHBOARDS_PERCENTILE(t.{column}, {float(argument)!r})"

    def rows(self):
        """``(index of the set, row dict)`` for every group; columns outside the set are absent."""
        inner = self.queryset.order_by().values(
            **{f"c_{name}": value for name, value in self.columns.items()}
        )
        connection = connections[inner.db]
        sql, params = inner.query.sql_with_params()
        keys = sorted({name for group in self.sets for name in group}, key=list(self.columns).index)
        aggregates = ", ".join(
            f"{self._aggregate_sql(connection.vendor, *spec)} AS a_{name}"
            for name, spec in self.aggregates.items()
        )
        aggregates = aggregates.replace("t.", "t.c_")
        if connection.vendor == "postgresql":
            key_list = [f"t.c_{name}" for name in keys]
            grouping = f"GROUPING({', '.join(key_list)})" if keys else "0"
            sets = ", ".join("(" + ", ".join(f"t.c_{name}" for name in group) + ")" for group in self.sets)
            selected = ", ".join([grouping, *key_list, aggregates])
            outer = f"SELECT {selected} FROM ({sql}) t GROUP BY GROUPING SETS ({sets})"  # noqa: S608
            outer_params = params
        else:
            parts = []
            for index, group in enumerate(self.sets):
                selected = ", ".join(
                    [str(index), *(f"t.c_{name}" if name in group else "NULL" for name in keys), aggregates]
                )
                group_by = f" GROUP BY {', '.join(f't.c_{name}' for name in group)}" if group else ""
                parts.append(f"SELECT {selected} FROM ({sql}) t{group_by}")  # noqa: S608
            outer = " UNION ALL ".join(parts)
            outer_params = params * len(self.sets)
        masks = {
            sum(
                1 << (len(keys) - 1 - position) for position, name in enumerate(keys) if name not in group
            ): index
            for index, group in enumerate(self.sets)
        }
        with connection.cursor() as cursor:
            cursor.execute(outer, outer_params)
            found = cursor.fetchall()
        names = list(self.aggregates)
        result = []
        for values in found:
            index = masks[values[0]] if connection.vendor == "postgresql" else values[0]
            group = self.sets[index]
            row = {name: values[1 + position] for position, name in enumerate(keys) if name in group}
            for name, value in zip(names, values[1 + len(keys) :], strict=True):
                counted = self.aggregates[name][0] in ("count", "count_true")
                row[name] = value if value is None else int(value) if counted else float(value)
            result.append((index, row))
        return result
