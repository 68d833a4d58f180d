"""Import benchmark: N residents from one xlsx through the real import job (upload, validate, commit).

    .venv/bin/python bench/import_bench.py --rows 100000            # SQLite (a fresh file in a temp folder)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/import_bench.py --rows 100000

The sheet is generated deterministically (valid ID numbers with check digits, about 2.5 residents per dwelling,
so 100,000 rows name 40,000 dwellings that do not exist yet, in 4 estates of one community) and cached under
var/bench/. The pipeline runs in a child process against a fresh database (a new SQLite file, or a new
PostgreSQL database on the server DATABASE_URL names, dropped afterwards): start_import, then the task bodies
validate_import and run_import, exactly as the queue consumer runs them. A baseline child only reads the sheet
with openpyxl (read-only, values only). Peak memory is each child's peak resident set size (ru_maxrss from
os.wait4, i.e. getrusage of that process), so it includes Python, Django and the database driver.

Target (issue 2): 100,000 rows in at most 60 s and 500 MB peak on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0
TARGET_MB = 500.0
ESTATES = ("祥和苑", "龙祥小区", "邮政小区", "社保小区")
REGIONS = ("421202", "421221", "421222", "421223", "421224", "421281", "420102", "420106")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅志强玉兰海燕文辉雪婷浩然子涵欣怡"
RELATIONS = ("户主", "配偶", "子", "女")
PER_DWELLING = (1, 4, 3, 2)  # residents in consecutive dwellings: 2.5 on average
DAYS = 29_000  # birth dates spread over ~80 years from 1935


# ---------------------------------------------------------------- the sheet

def id_number(i: int) -> tuple[str, bool, dt.date]:
    """A unique valid ID number for person i (unique for i < 232,000 * 500), with sex and birth date."""
    from linli.core.identity import id_check_digit

    born = dt.date(1935, 1, 1) + dt.timedelta(days=i % DAYS)
    region = REGIONS[(i // DAYS) % len(REGIONS)]
    male = i % 2 == 0
    order = ((i // (DAYS * len(REGIONS))) % 500) * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{order:03d}"
    return first17 + id_check_digit(first17), male, born


def sheet_rows(rows: int):
    """The data rows: people fill dwellings in order, 24 dwellings per building (2 entrances of 12)."""
    person = dwelling = 0
    while person < rows:
        estate = ESTATES[dwelling % len(ESTATES)]
        local = dwelling // len(ESTATES)
        building, rest = divmod(local, 24)
        entrance, flat = divmod(rest, 12)
        room = f"{flat // 2 + 1}{flat % 2 + 1:02d}"
        for k in range(PER_DWELLING[dwelling % len(PER_DWELLING)]):
            if person >= rows:
                break
            number, male, born = id_number(person)
            name = SURNAMES[person % len(SURNAMES)] + GIVEN[(person // 7) % len(GIVEN)] + (
                GIVEN[(person // 3) % len(GIVEN)] if person % 3 else "")
            tags = "、".join(t for t, every in (("独居老人", 10), ("党员", 25), ("残疾人:2", 50)) if person % every == 0)
            yield [estate, f"{building + 1}栋", f"{entrance + 1}单元", room, name, "男" if male else "女",
                   born.isoformat(), number, f"13{person:09d}", RELATIONS[min(k, 3)], "汉族", tags,
                   dt.date(2000 + person % 25, 1 + person % 12, 1), ""]
            person += 1
        dwelling += 1


def make_sheet(path: Path, rows: int) -> float:
    """Saved the way Excel saves: a shared-string table and a <dimension> (openpyxl writes neither)."""
    from linli.people.imports.columns import COLUMNS
    from linli.people.tests.sheets import excel_xlsx

    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(excel_xlsx(itertools.chain([[c.zh for c in COLUMNS]], sheet_rows(rows)), sheet="居民信息"))
    tmp.rename(path)
    return time.perf_counter() - started


# ---------------------------------------------------------------- children

def child_baseline(sheet: Path) -> dict:
    from openpyxl import load_workbook

    started = time.perf_counter()
    wb = load_workbook(sheet, read_only=True, data_only=True)
    count = sum(1 for _ in wb.worksheets[0].iter_rows(min_row=2, values_only=True))
    wb.close()
    return {"rows": count, "seconds": time.perf_counter() - started}


def child_pipeline(sheet: Path) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from linli.core.actor import Actor
    from linli.core.permissions import Role
    from linli.core.testing import make_user
    from linli.people import tasks
    from linli.people.imports.actions import commit_import, start_import
    from linli.people.models import ImportJob, Resident
    from linli.places.actions import create_place
    from linli.places.models import Place

    system = Actor.system("bench")
    district = create_place(actor=system, kind="district", parent=None, name="咸安区", code="421202")
    street = create_place(actor=system, kind="street", parent=district, name="浮山街道")
    community = create_place(actor=system, kind="community", parent=street, name="梅园社区")
    for name in ESTATES:
        create_place(actor=system, kind="estate", parent=community, name=name)
    staff = Actor.for_user(make_user("bench_staff", Role.COMMUNITY_STAFF, community))

    timings: dict[str, float] = {"setup_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    def timed(step: str, work) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        timings[step] = time.perf_counter() - wall
        timings[f"{step}_cpu"] = time.process_time() - cpu
        timings[f"{step}_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    jobs: list = []

    def upload() -> None:
        with sheet.open("rb") as fh:
            jobs.append(start_import(actor=staff, place=community, upload=fh, filename=sheet.name))

    timed("upload", upload)
    job = jobs[0]
    timed("validate", lambda: tasks.validate_import.call_local(job.pk))
    job.refresh_from_db()

    def commit() -> None:
        commit_import(actor=staff, job=job, keep="valid")
        tasks.run_import.call_local(job.pk)

    timed("commit", commit)
    job = ImportJob.objects.get(pk=job.pk)
    return {
        **timings, "status": job.status, "rows": job.total_rows, "valid": job.valid_rows, "errors": job.error_rows,
        "created": job.created_count, "residents": Resident.objects.count(),
        "dwellings": Place.objects.filter(kind="dwelling").count(),
        "database": django.db.connection.vendor,
    }


def run_child(mode: str, sheet: Path, env: dict[str, str]) -> tuple[dict, float]:
    """Run a child; returns its JSON answer and its peak RSS in MB."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", mode, "--sheet", str(sheet)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{mode} child failed with exit code {proc.returncode}")
    return json.loads(out.decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


# ---------------------------------------------------------------- fresh databases

class FreshDatabase:
    """A new SQLite file, or a new database on the PostgreSQL server of DATABASE_URL (dropped on exit)."""

    def __init__(self, workdir: Path):
        self.base = os.environ.get("DATABASE_URL", "")
        self.name = f"linli_bench_{os.getpid()}"
        self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        if self.base.startswith("postgres"):
            parts = urlsplit(self.base)
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
            self.admin = urlunsplit(parts._replace(path="/postgres"))

    def __enter__(self) -> str:
        if self.base.startswith("postgres"):
            self._sql(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc) -> None:
        if self.base.startswith("postgres"):
            self._sql(f'DROP DATABASE IF EXISTS "{self.name}"')

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(statement)


# ---------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--child", choices=["baseline", "pipeline"], help=argparse.SUPPRESS)
    parser.add_argument("--sheet", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        result = child_baseline(args.sheet) if args.child == "baseline" else child_pipeline(args.sheet)
        print(json.dumps(result))
        return 0

    cache = ROOT / "var" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    sheet = cache / f"residents-{args.rows}.xlsx"
    if not sheet.exists():
        print(f"generating {sheet.relative_to(ROOT)} ...", flush=True)
        print(f"  generated in {make_sheet(sheet, args.rows):.1f} s", flush=True)
    baseline, baseline_mb = run_child("baseline", sheet, dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="linli-bench-") as tmp, FreshDatabase(Path(tmp)) as url:
        env = {**os.environ, "DATABASE_URL": url, "LINLI_VAR_DIR": tmp, "LINLI_MEDIA_ROOT": str(Path(tmp) / "media"),
               "LINLI_HUEY_IMMEDIATE": "0"}
        result, peak_mb = run_child("pipeline", sheet, env)
    total = result["upload"] + result["validate"] + result["commit"]
    cpu = result["upload_cpu"] + result["validate_cpu"] + result["commit_cpu"]
    ok = total <= TARGET_SECONDS and peak_mb <= TARGET_MB and result["created"] == args.rows
    lines = [
        f"database           {result['database']}",
        f"sheet              {sheet.name} ({sheet.stat().st_size / 1e6:.1f} MB), {result['rows']} rows, "
        f"{result['dwellings']} dwellings created",
        f"job                {result['status']}: {result['valid']} valid, {result['errors']} rejected, "
        f"{result['created']} residents created",
        f"upload             {result['upload']:6.1f} s   cpu {result['upload_cpu']:5.1f} s   (checks, sealing, storing)",
        f"validate           {result['validate']:6.1f} s   cpu {result['validate_cpu']:5.1f} s   "
        f"{result['rows'] / result['validate']:8.0f} rows/s",
        f"commit             {result['commit']:6.1f} s   cpu {result['commit_cpu']:5.1f} s   "
        f"{result['rows'] / result['commit']:8.0f} rows/s",
        f"total              {total:6.1f} s   cpu {cpu:5.1f} s   {result['rows'] / total:8.0f} rows/s   "
        f"(target <= {TARGET_SECONDS:.0f} s)",
        f"load average       {os.getloadavg()[0]:6.1f}      (other processes on the machine inflate wall times)",
        f"peak RSS           {peak_mb:6.0f} MB  (ru_maxrss of the pipeline process; target <= {TARGET_MB:.0f} MB; "
        f"after Django setup and migrations {result['setup_peak_mb']:.0f}, upload {result['upload_peak_mb']:.0f}, validate {result['validate_peak_mb']:.0f}, "
        f"commit {result['commit_peak_mb']:.0f})",
        f"baseline           {baseline['seconds']:6.1f} s   {baseline_mb:6.0f} MB  (openpyxl read-only, values only, "
        f"{baseline['rows']} rows)",
        f"ratio              {total / baseline['seconds']:6.1f} x time, {peak_mb / baseline_mb:.1f} x memory of the baseline",
        f"verdict            {'within target' if ok else 'TARGET MISSED'}",
    ]
    print("\n".join(lines))
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
