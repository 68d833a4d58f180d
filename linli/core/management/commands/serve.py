"""``linli serve``: migrate, load the demo data into an empty database, then run the web server and the task
consumer side by side until either stops or the process is told to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Linli: migrations, demo data when empty, gunicorn and the Huey consumer."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LINLI_WEB_WORKERS", "2")))
        parser.add_argument("--no-demo", action="store_true", help="do not load demo data into an empty database")
        parser.add_argument("--no-consumer", action="store_true", help="web server only (consumers run elsewhere)")

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        from linli.places.models import Place

        if not opts["no_demo"] and not Place.objects.exists():
            self.stdout.write("empty database: loading demo data ...")
            call_command("seed_demo")
        python = sys.executable
        procs: list[subprocess.Popen] = []
        env = os.environ.copy()
        if not opts["no_consumer"]:
            procs.append(subprocess.Popen([python, "-m", "linli", "run_huey", "--quiet"], env=env))
        procs.append(subprocess.Popen([
            python, "-m", "gunicorn", "linli.wsgi:application",
            "--bind", f"{opts['host']}:{opts['port']}",
            "--workers", str(opts["workers"]), "--threads", "4",
            "--access-logfile", "-", "--timeout", "120", "--graceful-timeout", "20",
        ], env=env))
        self.stdout.write(f"Linli is serving at http://{opts['host']}:{opts['port']}/ (Ctrl+C stops)")

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        code = 0
        try:
            while not stopping:
                for p in procs:
                    if p.poll() is not None:
                        self.stderr.write(f"process {p.args[2]} exited with {p.returncode}; stopping")
                        code = p.returncode or 1
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.time() + 25
            for p in procs:
                try:
                    p.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    p.kill()
        if code:
            sys.exit(code)
