"""Sums of money in one currency: each amount converted with the exchange rate of its own day.

An amount in the shown currency is added as it is; an amount in the other one is converted with
``crm.ExchangeRate`` of the row's day (a quote's ``quoted_on``, a win's ``won_on``), the exact day and no
other: a row whose day has no rate is left out of the sum and reported with its day, never converted at
zero or with a neighbouring day's rate.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections
from django.db.models import F

from crm.models import Currency, ExchangeRate

CENT = Decimal("0.01")


def as_day(value):
    """A date from what a raw cursor returns (SQLite gives ISO text)."""
    if value is None or isinstance(value, datetime.date):
        return value.date() if isinstance(value, datetime.datetime) else value
    return datetime.date.fromisoformat(str(value)[:10])


def as_money(value):
    return None if value is None else Decimal(str(value)).quantize(CENT)


@dataclass
class Missing:
    """Rows left out because their day has no exchange rate: how many, per day."""

    days: dict = field(default_factory=dict)

    def add(self, day, count):
        self.days[day] = self.days.get(day, 0) + count

    @property
    def count(self):
        return sum(self.days.values())

    def merge(self, other):
        for day, count in other.days.items():
            self.add(day, count)
        return self

    def __bool__(self):
        return bool(self.days)


@dataclass
class ConvertedGroup:
    """One group's converted sum (None when nothing was counted), rows counted and rows left out."""

    key: tuple
    amount: Decimal | None = None
    counted: int = 0
    missing: Missing = field(default_factory=Missing)


def converted_sums(queryset, keys, amount, currency, day, target):  # noqa: PLR0913 - the columns of one sum
    """Per group of ``keys`` (name → expression of the rows), the sum of ``amount`` in ``target``.

    ``currency`` and ``day`` name the row's currency and the day whose rate converts it. One query: the
    rows (``queryset``, already scoped to what the viewer may see) joined with the rate of their day.
    """
    target = Currency(target)
    columns = {f"c_{name}": expression for name, expression in keys.items()}
    inner = queryset.order_by().values(**columns, m_amount=F(amount), m_currency=F(currency), m_day=F(day))
    connection = connections[inner.db]
    sql, params = inner.query.sql_with_params()
    rate = ExchangeRate._meta.db_table
    key_list = [f"t.{name}" for name in columns]
    to_pesos = target == Currency.ARS
    # "* 1.0": SQLite keeps whole amounts as integers, and would divide them as integers.
    converted = "t.m_amount * r.ars_per_usd" if to_pesos else "t.m_amount * 1.0 / r.ars_per_usd"
    missing_day = "CASE WHEN t.m_currency = %s OR r.ars_per_usd IS NOT NULL THEN NULL ELSE t.m_day END"
    selected = ", ".join(
        [
            *key_list,
            f"{missing_day} AS missing_day",
            "COUNT(*)",
            f"SUM(CASE WHEN t.m_currency = %s THEN t.m_amount ELSE {converted} END)",
        ]
    )
    group_by = ", ".join([*key_list, "missing_day"])
    outer = (
        f"SELECT {selected} FROM ({sql}) t LEFT JOIN {rate} r ON r.day = t.m_day "  # noqa: S608
        f"GROUP BY {group_by}"
    )
    with connection.cursor() as cursor:
        cursor.execute(outer, (str(target), str(target), *params))
        found = cursor.fetchall()
    groups: dict[tuple, ConvertedGroup] = {}
    width = len(columns)
    for values in found:
        key = tuple(values[:width])
        missing, count, total = values[width:]
        group = groups.setdefault(key, ConvertedGroup(key))
        if missing is not None:
            group.missing.add(as_day(missing), count)
            continue
        group.counted += count
        if total is not None:
            group.amount = (group.amount or Decimal(0)) + Decimal(str(total))
    for group in groups.values():
        group.amount = as_money(group.amount)
    return list(groups.values())


def latest_rate(first_day, last_day):
    """``(day, pesos per dollar)`` of the newest rate from ``first_day`` to ``last_day``, or None."""
    return (
        ExchangeRate.objects.filter(day__gte=first_day, day__lte=last_day)
        .order_by("-day")
        .values_list("day", "ars_per_usd")
        .first()
    )
