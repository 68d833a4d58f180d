"""What the KPI page's charts draw: the rows of the KPI table already computed for the page (rates against their
targets, median times), plus the trend of the period (tickets and on-time rate per day, week or month) from the
same ticket set ``kpis.kpi_tickets`` selects. Numbers are rounded exactly as the table prints them, so a chart
and the table never disagree. Labels are in the active language (the page is rendered in it)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

from linli.core.actor import Actor
from linli.core.web import in_english

from . import kpis

# The rates drawn, in the table's order, and the medians with their unit.
CHART_RATES = ("on_time_rate", "handling_rate", "complaint_handling_rate", "satisfaction_rate", "reopen_rate")
CHART_MEDIANS = ("median_response_minutes", "median_resolution_hours")
DAY_LIMIT = 14  # periods up to two weeks are drawn per day
WEEK_LIMIT = 26 * 7  # up to half a year per week (Monday to Sunday), longer ones per month


def percent(value: float | None) -> float | None:
    """0.8333 -> 83.3: the number the table prints as "83.3%"."""
    return None if value is None else float(f"{value:.1%}".rstrip("%"))


def one_decimal(value: float | None) -> float | None:
    """As the table's ``floatformat:1`` prints it."""
    return None if value is None else float(floatformat(value, 1))


@dataclass
class Trend:
    unit: str  # day, week or month
    starts: list[dt.date] = field(default_factory=list)
    rows: list[kpis.KpiRow] = field(default_factory=list)


def trend_unit(since: dt.date, until: dt.date) -> str:
    days = (until - since).days + 1
    return "day" if days <= DAY_LIMIT else "week" if days <= WEEK_LIMIT else "month"


def kpi_trend(actor: Actor, f: kpis.KpiFilter, since: dt.date, until: dt.date) -> Trend:
    """One row per day, week or month of the period (empty ones included), by the tickets' local creation date,
    over the same tickets as the KPI table. The KPI page gets it with its table instead (``kpi_table(trend=...)``,
    one pass over the tickets, then ``trend_of``); this computes it on its own."""
    period = dataclasses.replace(f, since=since, until=until)
    return trend_of(kpis.kpi_table(actor, period, "total", trend=trend_unit(since, until)))


def trend_of(table: kpis.KpiTable) -> Trend:
    """The trend computed with ``table`` (``kpi_table(trend=trend_unit(...))``), one row per day, week or month
    of the table's period, empty ones included."""
    unit = trend_unit(table.since, table.until)
    found: dict[dt.date, dict[str, Any]] = table.trend or {}
    trend = Trend(unit=unit)
    for start in kpis.trend_starts(table.since, table.until, unit):
        trend.starts.append(start)
        trend.rows.append(kpis._row(start.isoformat(), start.isoformat(), found.get(start, {})))
    return trend


def _trend_label(start: dt.date, unit: str) -> str:
    return f"{start:%Y-%m}" if unit == "month" else f"{start:%m-%d}"


def chart_data(table: kpis.KpiTable, trend: Trend | None, labels: dict[str, Any]) -> dict[str, Any]:
    """The page's chart data (json_script): the table's columns (its rows, then the total) and the trend.
    ``labels`` names each rate and median in the active language (the table's own labels)."""
    rows = [*table.rows, table.total]
    groups = [_("合计") if row is table.total else row.label for row in rows]
    targets = table.targets
    data: dict[str, Any] = {
        "lang": "en" if in_english() else "zh",
        "groups": groups,
        "rates": [{"name": name, "label": str(labels[name]), "values": [percent(getattr(r, name)) for r in rows],
                   "target": percent(targets.get(name))} for name in CHART_RATES],
        "medians": [{"name": name, "label": str(labels[name]),
                     "values": [one_decimal(getattr(r, name)) for r in rows]} for name in CHART_MEDIANS],
        "text": {"target": _("目标"), "tickets": _("工单数"), "on_time_rate": str(labels["on_time_rate"]),
                 "satisfaction_rate": str(labels["satisfaction_rate"]), "no_data": _("无数据")},
    }
    if trend is not None:
        data["trend"] = {
            "unit": trend.unit,
            "axis": {"day": _("日期"), "week": _("周（起始日）"), "month": _("月份")}[trend.unit],
            "labels": [_trend_label(s, trend.unit) for s in trend.starts],
            "starts": [s.isoformat() for s in trend.starts],
            "tickets": [r.tickets for r in trend.rows],
            "on_time_rate": [percent(r.on_time_rate) for r in trend.rows],
            "satisfaction_rate": [percent(r.satisfaction_rate) for r in trend.rows],
            "target": percent(targets.get("on_time_rate")),
        }
    return data
