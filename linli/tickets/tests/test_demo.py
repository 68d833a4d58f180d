"""The demo tickets: made through the actions on top of the place and resident demo, deterministic per seed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from linli.core.actor import Actor
from linli.demo.seed import seed_demo
from linli.tickets import kpis
from linli.tickets.demo import seed_tickets
from linli.tickets.models import Organisation, Ticket, TicketEvent

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=timezone.get_default_timezone())


def test_given_the_demo_when_tickets_are_seeded_then_each_community_has_a_handled_history_and_kpis(db):
    assert seed_demo(households=60).created
    report = seed_tickets(seed=7, per_community=12, now=NOW)
    tickets = Ticket.objects.all()
    assert tickets.count() == 36 == sum(v for k, v in report.counts.items() if not k.startswith(("sweep", "refused")))
    assert not [k for k in report.counts if k.startswith("refused")]
    assert {"closed", "resolved"} & set(tickets.values_list("status", flat=True))
    assert tickets.filter(created_at__lt=NOW - dt.timedelta(days=30)).exists()
    assert not tickets.filter(created_at__gt=NOW).exists() and not TicketEvent.objects.filter(at__gt=NOW).exists()
    assert Organisation.objects.filter(name="咸宁祥和物业服务有限公司").exists()
    assert set(tickets.exclude(channel="app").values_list("channel", flat=True)) <= {
        "phone", "walk_in", "message_board", "hotline", "grid_patrol"}
    # Every ticket's history starts with its submission, at its creation time.
    firsts = {t.pk: t.created_at for t in tickets}
    submitted = dict(TicketEvent.objects.filter(action="submit").values_list("ticket_id", "at"))
    assert submitted == firsts
    table = kpis.kpi_table(Actor.system("test"), kpis.KpiFilter(since=(NOW - dt.timedelta(days=90)).date(),
                                                                until=NOW.date()), "place")
    assert table.total.tickets == 36 - tickets.filter(status="withdrawn").count()
