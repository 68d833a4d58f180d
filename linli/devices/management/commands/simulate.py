"""``linli simulate``: send realistic device traffic to a running Linli (see linli.devices.simulate)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from linli.core.actor import Actor
from linli.devices import simulate
from linli.devices.simulate.scenarios import SCENARIOS

HELP = """Send realistic device traffic to a running Linli, through its real ingestion paths only.

Over HTTP (default) every payload is POSTed to --url/api/v1/ingest/<generic|hikvision|dahua> as the demo device
it comes from, with that device's serial and secret (HTTP Basic). With --mqtt the generic format is published on
<prefix>/<serial>/events (generic-format devices only) and, with --frigate, Frigate messages on frigate/events;
`linli ingest` must be running against the same broker.

Devices and secrets come from the simulator file that the demo writes (var/simulator.json, mode 0600). Lost it,
or simulating against a copy of the database? Run `linli simulate --setup` on the server: it re-keys the demo
devices through the registry action (old secrets stop working) and writes a new file.

Scenarios (default: all that the transport can carry):
""" + "\n".join(f"  {name:<10} {text}" for name, text in SCENARIOS.items()) + """

Time: --speed 60 (default) replays a two-hour peak in two minutes; the other scenarios happen now, their
durations shortened by the same factor. --duration stops after that many real seconds, --count after that many
payloads. A summary lists what was sent per scenario and kind, the answers (HTTP status or PUBACK) and errors.

Examples:
  linli simulate                                   everything, over HTTP to http://127.0.0.1:8000
  linli simulate -s fire-lane -s malformed --speed 600
  linli simulate -s silent --backdate              the care sweep raises "not seen" at its next run
  linli simulate --mqtt mqtt://127.0.0.1:1883 --frigate
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Linli's base URL (HTTP transport)")
        parser.add_argument("--mqtt", metavar="URL", default="", help="send over MQTT instead: mqtt://host:1883")
        parser.add_argument("--topic-prefix", default="linli", help="generic topics: <prefix>/<serial>/events")
        parser.add_argument("--frigate-prefix", default="frigate", help="Frigate's topic prefix")
        parser.add_argument("--frigate", action="store_true", help="with --mqtt: also Frigate messages")
        parser.add_argument("-s", "--scenario", action="append", choices=list(SCENARIOS), metavar="NAME",
                            help="a scenario to run (repeat for several; default: all)")
        parser.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second (60)")
        parser.add_argument("--duration", type=float, help="stop after this many real seconds")
        parser.add_argument("--count", type=int, help="stop after this many payloads")
        parser.add_argument("--backdate", action="store_true",
                            help="silent: send the resident's past passages so the care sweep fires at once")
        parser.add_argument("--seed", type=int, help="random seed (same seed, same choices)")
        parser.add_argument("--plan", type=Path, help="the simulator file (default var/simulator.json)")
        parser.add_argument("--setup", action="store_true",
                            help="re-key the demo devices and write the simulator file, then stop")

    def handle(self, *args, **opts):
        if opts["setup"]:
            try:
                path, plan = simulate.setup(actor=Actor.system("linli simulate --setup"), path=opts["plan"])
            except simulate.PlanError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{len(plan['devices'])} demo devices re-keyed; simulator file {path} (0600)")
            return
        if opts["speed"] <= 0:
            raise CommandError("--speed must be above 0")
        try:
            plan = simulate.read_plan(opts["plan"])
            names, skipped = simulate.choose(opts["scenario"], mqtt=bool(opts["mqtt"]), frigate=opts["frigate"])
            if opts["mqtt"]:
                sender = simulate.MqttSender(opts["mqtt"], opts["topic_prefix"], opts["frigate_prefix"])
            else:
                sender = simulate.HttpSender(opts["url"])
        except (simulate.PlanError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        shots, notes = simulate.plan_shots(plan, names, mqtt=bool(opts["mqtt"]), backdate=opts["backdate"],
                                           seed=opts["seed"], frigate=opts["frigate"])
        self.stdout.write(f"{len(shots)} payloads planned ({', '.join(names) or 'nothing'}); speed x{opts['speed']:g}")
        summary = simulate.run(sender, shots, speed=opts["speed"], duration=opts["duration"], count=opts["count"])
        summary.notes, summary.skipped = notes, skipped
        self.stdout.write("\n".join(summary.lines()))
