"""``linli kpi_rollup``: the state of the tickets' KPI rollup (PostgreSQL); ``--rebuild`` installs its triggers
for the current TIME_ZONE and counts every ticket again (after changing the zone, or to repair it).

The tickets are locked against writes while it recounts (a few seconds for a million); reads go on."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from linli.tickets import kpi_rollup
from linli.tickets.models import KpiMonth, KpiRollup


class Command(BaseCommand):
    help = "Show the KPI rollup's state; --rebuild reinstalls it for the current TIME_ZONE and recounts it."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="reinstall the triggers and recount every ticket")

    def handle(self, *args, rebuild: bool = False, **options):
        if connection.vendor != "postgresql":
            raise CommandError("the KPI rollup exists on PostgreSQL only; elsewhere the KPIs count the tickets")
        if rebuild:
            with transaction.atomic():
                kpi_rollup.install(connection, settings.TIME_ZONE)
        state = KpiRollup.objects.first()
        zone = state.zone if state else "—"
        used = "in use" if kpi_rollup.available(connection.alias) else "NOT in use (run --rebuild)"
        self.stdout.write(f"KPI rollup: {KpiMonth.objects.count()} rows, months local to {zone}, "
                          f"TIME_ZONE {settings.TIME_ZONE}: {used}")
