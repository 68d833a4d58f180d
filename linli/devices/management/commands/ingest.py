"""``linli ingest``: consume device events from the MQTT broker of LINLI_MQTT_URL (linli.devices.mqtt). Run as
many processes as needed, each with its own stable ``--client-id``: the shared subscription splits the stream."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.devices.mqtt import DEFAULT_MAX_BATCH, DEFAULT_MAX_WAIT, Consumer, config_from_settings, topic_filters


class Command(BaseCommand):
    help = "Store device events from MQTT (generic format and Frigate) through a shared subscription."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--group", default="", help="shared-subscription group (LINLI_MQTT_GROUP)")
        parser.add_argument("--client-id", default="", help="this process's MQTT client id (LINLI_MQTT_CLIENT_ID)")
        parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="messages per stored batch")
        parser.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT, help="seconds a batch waits to fill")
        parser.add_argument("--after-store", choices=["queue", "inline"], default=None,
                            help="process stored batches in a task (queue) or in this process right after the "
                                 "commit (inline); default LINLI_INGEST_AFTER_STORE, else queue")
        parser.add_argument("--run-for", type=float, default=None, help="stop after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.LINLI_MQTT_URL:
            raise CommandError("LINLI_MQTT_URL is not set: devices report over HTTP only")
        if options["max_batch"] < 1 or options["max_wait"] <= 0:
            raise CommandError("--max-batch must be at least 1 and --max-wait above 0")
        try:
            config = config_from_settings(group=options["group"], client_id=options["client_id"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        inline = (options["after_store"] or settings.LINLI_INGEST_AFTER_STORE) == "inline"
        consumer = Consumer(config, max_batch=options["max_batch"], max_wait=options["max_wait"], inline=inline)
        self.stdout.write(f"linli ingest {config.client_id}: {', '.join(topic_filters(config))}")
        totals = consumer.run(stop, run_for=options["run_for"])
        self.stdout.write(f"stored {totals.stored}, duplicates {totals.duplicates}, quarantined {totals.quarantined}")
