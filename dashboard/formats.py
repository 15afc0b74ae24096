"""Numbers for people in the admin, as the dashboard shows them: the shop's currency, thousands separators,
shares as percentages, means to one decimal (not "13.6721" days)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}


def money(value: float | Decimal | None, currency: str | None = None) -> str:
    if value is None:
        return "–"
    code = currency or settings.SHOP_CURRENCY
    amount = Decimal(str(value))
    text = f"{abs(amount):,.2f}"
    symbol = SYMBOLS.get(code)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"


def pence(value: int | None) -> str:
    return "–" if value is None else money(Decimal(value) / 100)


def count(value: int | None) -> str:
    return "–" if value is None else f"{int(value):,}"


def mean(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}{' ' + unit if unit else ''}"


def share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
