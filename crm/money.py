"""Amounts in two currencies: converting pesos and dollars with the exchange rate of the figure's day.

A figure converts with the rate of its own day and no other (the dashboards' SQL follows the same rule,
``dashboards.conversion``): when that day has none, the rate is missing and the conversion gives None.
A missing rate is never a zero nor a neighbouring day's: callers show "rate missing for <day>" or leave the
figure out, and ``RateBook.missing`` lists the days that had none. Admins enter or import the rate of
every day a figure needs (weekends included).

``convert`` reads the rates of one day; ``RateBook`` reads the rates of a span once and converts many
figures without another query.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from .models import Currency, ExchangeRate

FALLBACK_DAYS = 0
"""How many days back a missing rate may be taken from the most recent earlier one: none, so that the lead
page and the dashboards (which join on the exact day) always agree."""

CENT = Decimal("0.01")


class MissingRate(Exception):
    """No exchange rate for ``day``."""

    def __init__(self, day: date) -> None:
        self.day = day
        super().__init__(missing_rate_text(day))


def missing_rate_text(day: date) -> str:
    return _("Exchange rate missing for %(day)s.") % {"day": date_format(day, "SHORT_DATE_FORMAT")}


def _apply(amount: Decimal, currency: str, to_currency: str, ars_per_usd: Decimal) -> Decimal:
    if currency == Currency.USD and to_currency == Currency.ARS:
        converted = amount * ars_per_usd
    elif currency == Currency.ARS and to_currency == Currency.USD:
        converted = amount / ars_per_usd
    else:
        raise ValueError(f"Cannot convert {currency} to {to_currency}")
    return converted.quantize(CENT, rounding=ROUND_HALF_UP)


def _check(currency: str, to_currency: str) -> None:
    for code in (currency, to_currency):
        if code not in Currency.values:
            raise ValueError(f"Unknown currency: {code!r}")


class RateBook:
    """The exchange rates of a span of days, read in one query; converts any figure of that span."""

    def __init__(self, rates: Iterable[tuple[date, Decimal]]) -> None:
        ordered = sorted(rates)
        self._days = [day for day, _rate in ordered]
        self._rates = [rate for _day, rate in ordered]
        self.missing: set[date] = set()

    @classmethod
    def for_days(cls, days: Iterable[date | None]) -> RateBook:
        """The rates that the figures of ``days`` may use (one query; none when ``days`` is empty)."""
        wanted = [day for day in days if day is not None]
        if not wanted:
            return cls([])
        rows = ExchangeRate.objects.filter(
            day__gte=min(wanted) - timedelta(days=FALLBACK_DAYS), day__lte=max(wanted)
        ).values_list("day", "ars_per_usd")
        return cls(rows)

    def rate(self, day: date) -> Decimal | None:
        """Pesos per dollar for ``day`` (its own rate; see ``FALLBACK_DAYS``)."""
        index = bisect_right(self._days, day) - 1
        if index < 0 or (day - self._days[index]).days > FALLBACK_DAYS:
            return None
        return self._rates[index]

    def convert(self, amount: Decimal, currency: str, day: date, to_currency: str) -> Decimal | None:
        """``amount`` in ``to_currency`` at ``day``'s rate; None (and ``day`` in ``missing``) without one."""
        _check(currency, to_currency)
        if currency == to_currency:
            return amount
        rate = self.rate(day)
        if rate is None:
            self.missing.add(day)
            return None
        return _apply(amount, currency, to_currency, rate)

    def convert_or_raise(self, amount: Decimal, currency: str, day: date, to_currency: str) -> Decimal:
        converted = self.convert(amount, currency, day, to_currency)
        if converted is None:
            raise MissingRate(day)
        return converted


def convert(amount: Decimal, currency: str, day: date, to_currency: str) -> Decimal | None:
    """``amount`` in ``currency`` on ``day``, in ``to_currency``; None when the day has no usable rate.

    The same currency gives the amount back without reading any rate.
    """
    _check(currency, to_currency)
    if currency == to_currency:
        return amount
    return RateBook.for_days([day]).convert(amount, currency, day, to_currency)


def other_currency(currency: str) -> str:
    return Currency.USD if currency == Currency.ARS else Currency.ARS


def display(amount: Decimal, currency: str) -> str:
    """ "US$ 1,500.00" / "$ 1,500.00" (pesos) in the reader's number format: one way everywhere."""
    symbol = "US$" if currency == Currency.USD else "$"
    return f"{symbol} {number_format(amount, 2, force_grouping=True)}"
