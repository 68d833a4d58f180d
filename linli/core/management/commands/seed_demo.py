"""``linli seed_demo``: load the deterministic demo data (does nothing, and says so, when it is already there)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from linli.demo.seed import ACCOUNTS, DEFAULT_HOUSEHOLDS, DEFAULT_SEED, DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load the demo: 咸安区 / 浮山街道 / 梅园社区 with 祥和苑, ~2,000 households, one account per role."

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS, help="households to create")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
        parser.add_argument("--no-tickets", action="store_true", help="leave out the three months of demo tickets")
        parser.add_argument("--no-devices", action="store_true", help="leave out the demo devices, events and alerts")

    def handle(self, *args, **opts):
        if opts["households"] < 20:
            raise CommandError("--households must be at least 20")
        report = seed_demo(households=opts["households"], seed=opts["seed"])
        if report.status == "refused":
            raise CommandError(report.message)
        self.stdout.write(report.message)
        if report.created:
            self.stdout.write(", ".join(f"{k} {v}" for k, v in report.counts.items()))
            self.stdout.write(f"accounts ({DEMO_PASSWORD}): " + ", ".join(a[0] for a in ACCOUNTS))
            self.stdout.write(f"digest {report.digest}")
            if not opts["no_tickets"]:
                from linli.tickets.demo import seed_tickets

                tickets = seed_tickets(seed=opts["seed"])
                self.stdout.write("tickets: " + ", ".join(f"{k} {v}" for k, v in sorted(tickets.counts.items())))
            if not opts["no_devices"]:  # after the tickets: an alert becomes a ticket of their organisations
                from linli.devices.demo import seed_devices

                self.stdout.write(seed_devices(seed=opts["seed"]).message)
