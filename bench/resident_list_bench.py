"""Resident list API benchmark: GET /api/v1/residents over 1,000 and then 100,000 residents.

    .venv/bin/python bench/resident_list_bench.py                      # SQLite (a fresh file in a temp folder)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/resident_list_bench.py

Builds a district of 10 communities (4 estates, 21 buildings of 2 entrances of 24 dwellings each: 40,320
dwellings) and bulk-inserts residents the way the registry stores them (ID number and phone encrypted, keyed
look-up hashes, masks, an occupancy each, care tags by age), first --small of them, then up to --rows. At each
size it calls the API through Django's test client with a bearer token, the way a client does, for these kinds
of request: the first page (a district admin, who sees everyone), the first page of a community staff member
(scoped), by place (one estate), by care tag (a parent tag with its sub-tags), by age range, by a name fragment,
and a deep offset (the last page). For each it reports the number of SQL queries (which must not differ between
the two sizes) and the p50 / p95 latency of --repeat calls, also as a ratio to the baseline measured in the same
run: GET /api/v1/me (the same authentication, no list) and a bare SELECT 1.

The database is fresh: a new SQLite file, or a new database on the PostgreSQL server DATABASE_URL names, dropped
afterwards. Exit status 1 when a query count grows with the number of rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
COMMUNITIES, ESTATES, BUILDINGS, ENTRANCES, FLATS = 10, 4, 21, 2, 24
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国红梅志玉海燕文辉雪婷浩然子涵欣怡"
REGIONS = ("421202", "421221", "421222", "421223", "420102", "420106")
BATCH = 5_000


# ---------------------------------------------------------------- a fresh database

@contextmanager
def fresh_database(workdir: Path) -> Iterator[str]:
    """A new SQLite file, or a new database on the PostgreSQL server of DATABASE_URL, dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{workdir / 'list-bench.sqlite3'}"
        return
    import psycopg

    name = f"linli_listbench_{os.getpid()}"
    parts = urlsplit(base)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- the data

@dataclass
class Tree:
    district: object
    communities: list
    estates: list
    dwellings: list  # (pk, path) of every dwelling


def build_tree() -> Tree:
    """District, street, communities and estates through the actions; buildings, entrances and dwellings in bulk."""
    from django.db.models import Max

    from linli.core.actor import Actor
    from linli.places.actions import create_place
    from linli.places.models import Place
    from linli.places.paths import natural_key

    system = Actor.system("bench")
    district = create_place(actor=system, kind="district", parent=None, name="咸安区", code="421202")
    street = create_place(actor=system, kind="street", parent=district, name="浮山街道", code="421202001")
    communities = [create_place(actor=system, kind="community", parent=street, name=f"第{c + 1}社区")
                   for c in range(COMMUNITIES)]
    estates = [create_place(actor=system, kind="estate", parent=c, name=f"{c.name}{e + 1}号小区")
               for c in communities for e in range(ESTATES)]
    next_pk = (Place.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    rows: list = []
    dwellings: list[tuple[int, str]] = []

    def add(kind: str, parent_pk: int, parent_path: str, depth: int, name: str) -> tuple[int, str]:
        nonlocal next_pk
        pk, path = next_pk, f"{parent_path}{next_pk}/"
        next_pk += 1
        rows.append(Place(pk=pk, kind=kind, parent_id=parent_pk, path=path, depth=depth, name=name,
                          sort_key=natural_key(name)))
        return pk, path

    for estate in estates:
        for b in range(BUILDINGS):
            bpk, bpath = add("building", estate.pk, estate.path, 4, f"{b + 1}栋")
            for e in range(ENTRANCES):
                epk, epath = add("entrance", bpk, bpath, 5, f"{e + 1}单元")
                for f in range(FLATS):
                    dwellings.append(add("dwelling", epk, epath, 6, f"{f // 2 + 1}{f % 2 + 1:02d}"))
    Place.objects.bulk_create(rows, batch_size=BATCH)
    reset_sequences(Place)  # explicit keys were used: move PostgreSQL's sequence past them
    return Tree(district=district, communities=communities, estates=estates, dwellings=dwellings)


def person(i: int) -> tuple[str, str, bool, dt.date, str]:
    """Resident number i: a unique valid ID number, name, sex, birth date and mobile number."""
    from linli.core.identity import id_check_digit

    born = dt.date(1930, 1, 1) + dt.timedelta(days=(i * 37) % 34_000)
    male = i % 2 == 0
    region = REGIONS[(i // 34_000) % len(REGIONS)]
    order = ((i // (34_000 * len(REGIONS))) % 500) * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{order:03d}"
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + (GIVEN[(i // 3) % len(GIVEN)] if i % 3 else "")
    return first17 + id_check_digit(first17), name, male, born, f"13{i:09d}"


def tags_for(i: int, age: int) -> list[tuple[str, int | None]]:
    tags: list[tuple[str, int | None]] = []
    if age >= 80:
        tags.append(("aged_80", None))
    if age >= 65 and i % 5 == 0:
        tags.append(("elderly_alone", None))
    elif age >= 60 and i % 7 == 0:
        tags.append(("empty_nest", None))
    if age < 16 and i % 9 == 0:
        tags.append(("left_behind_child", None))
    if i % 20 == 0:
        tags.append(("party_member", None))
    if i % 45 == 0:
        tags.append(("disabled", 1 + i % 4))
    if i % 60 == 0:
        tags.append(("low_income", None))
    return tags


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT many rows with explicit keys; each value goes through its field's own get_db_prep_save, so ID numbers
    and phones are encrypted exactly as when the ORM saves them (without the ORM's per-object cost)."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: (now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                            else f.get_default()) for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    params = [[f.get_db_prep_save(row.get(f.attname, defaults[f.attname]), connection) for f in fields]
              for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def next_keys(*models) -> list[int]:
    from django.db.models import Max

    return [(m.objects.aggregate(m=Max("pk"))["m"] or 0) + 1 for m in models]


def reset_sequences(*models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


def add_residents(tree: Tree, start: int, stop: int) -> float:
    """Residents start..stop-1, spread over every dwelling of the district, each with an occupancy and care tags by
    age; returns the seconds it took."""
    from django.db import transaction

    from linli.core.crypto import lookup_hash
    from linli.core.identity import age_on, mask_id_number, mask_phone
    from linli.people.models import CareTag, Occupancy, Resident, ResidentTag

    started = time.perf_counter()
    today = dt.date.today()
    tag_ids = dict(CareTag.objects.values_list("code", "pk"))
    occupied = set(Occupancy.objects.values_list("place_id", flat=True))
    resident_pk, occupancy_pk, tag_pk = next_keys(Resident, Occupancy, ResidentTag)
    with transaction.atomic():
        for lo in range(start, stop, BATCH):
            people, homes, tags = [], [], []
            for i in range(lo, min(stop, lo + BATCH)):
                id_number, name, male, born, phone = person(i)
                dwelling_pk, path = tree.dwellings[(i * 7_919) % len(tree.dwellings)]
                people.append({
                    "id": resident_pk, "place_id": dwelling_pk, "place_path": path, "name": name,
                    "sex": "M" if male else "F", "birth_date": born, "id_number": id_number,
                    "id_hash": lookup_hash("id", id_number), "id_mask": mask_id_number(id_number), "phone": phone,
                    "phone_hash": lookup_hash("phone", phone), "phone_mask": mask_phone(phone), "ethnicity": "汉族",
                    "source": "bench",
                })
                homes.append({"id": occupancy_pk, "resident_id": resident_pk, "place_id": dwelling_pk,
                              "place_path": path, "relation": "member" if dwelling_pk in occupied else "head"})
                occupied.add(dwelling_pk)
                occupancy_pk += 1
                for code, grade in tags_for(i, age_on(born, today) or 0):
                    tags.append({"id": tag_pk, "resident_id": resident_pk, "tag_id": tag_ids[code], "grade": grade,
                                 "since": today})
                    tag_pk += 1
                resident_pk += 1
            insert_rows(Resident, people)
            insert_rows(Occupancy, homes)
            insert_rows(ResidentTag, tags)
    reset_sequences(Resident, Occupancy, ResidentTag)
    return time.perf_counter() - started


# ---------------------------------------------------------------- measuring

@dataclass
class Result:
    kind: str
    url: str
    queries: int
    count: int
    p50: float
    p95: float


def measure(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]


def run_kinds(kinds: list[tuple[str, object, str]], repeat: int) -> list[Result]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for kind, client, url in kinds:
        def get(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            return response

        p50, p95 = measure(get, repeat)
        with CaptureQueriesContext(connection) as ctx:
            body = get().json()
        results.append(Result(kind, url, len(ctx.captured_queries), body.get("count", 0), p50, p95))
    return results


def select_one_ms(repeat: int) -> float:
    from django.db import connection

    def one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return measure(one, repeat)[0]


def kinds_for(tree: Tree, clients: dict, rows: int) -> list[tuple[str, object, str]]:
    admin, staff = clients["district_admin"], clients["community_staff"]
    base = "/api/v1/residents?limit=50"
    return [
        ("baseline: GET /me", admin, "/api/v1/me"),
        ("first page, whole district", admin, base),
        ("first page, community staff", staff, base),
        ("by place (one estate)", admin, f"{base}&place={tree.estates[5].pk}"),
        ("by tag (elderly + sub-tags)", admin, f"{base}&tag=elderly"),
        ("by age 60-69", admin, f"{base}&age_min=60&age_max=69"),
        ("by name fragment", admin, f"{base}&q=王"),
        ("deep offset (last page)", admin, f"{base}&offset={rows - 50}"),
    ]


def report(rows: int, built: float, select_ms: float, results: list[Result]) -> list[str]:
    baseline = results[0].p50
    lines = [f"--- {rows:,} residents (inserted in {built:.1f} s); SELECT 1 p50 {select_ms:.3f} ms",
             f"{'request':32} {'queries':>7} {'rows':>7} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>8}"]
    for r in results:
        lines.append(f"{r.kind:32} {r.queries:7d} {r.count:7d} {r.p50:8.1f} {r.p95:8.1f} {r.p50 / baseline:8.1f}")
    return lines


# ---------------------------------------------------------------- main

def bench(rows: int, small: int, repeat: int) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from linli.core.permissions import Role
    from linli.core.testing import make_token, make_user

    call_command("migrate", verbosity=0)
    tree = build_tree()
    users = {"district_admin": make_user("bench_district", Role.DISTRICT_ADMIN, tree.district),
             "community_staff": make_user("bench_staff", Role.COMMUNITY_STAFF, tree.communities[0])}
    clients = {k: Client(headers={"Authorization": f"Bearer {make_token(u)}"}) for k, u in users.items()}
    print(f"database {connection.vendor}; {len(tree.dwellings):,} dwellings; {repeat} calls per request", flush=True)
    counts: dict[int, list[int]] = {}
    inserted = 0
    for size in (small, rows):
        built = add_residents(tree, inserted, size)
        inserted = size
        if connection.vendor == "postgresql":  # what autovacuum does after a bulk load in production
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        results = run_kinds(kinds_for(tree, clients, size), repeat)
        counts[size] = [r.queries for r in results]
        print("\n".join(report(size, built, select_one_ms(repeat), results)), flush=True)
    same = counts[small] == counts[rows]
    print(f"query counts at {small:,} and {rows:,} rows: {'equal' if same else 'DIFFERENT'} {counts[rows]}")
    return 0 if same else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    with tempfile.TemporaryDirectory(prefix="linli-listbench-") as tmp, fresh_database(Path(tmp)) as url:
        os.environ.update({"DATABASE_URL": url, "LINLI_VAR_DIR": tmp, "LINLI_HUEY_IMMEDIATE": "1"})
        return bench(args.rows, args.small, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
