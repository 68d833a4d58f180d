"""Ticket pool benchmark: the staff ticket list, search and KPIs over 1,000,000 tickets in PostgreSQL.

    LINLI_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ticket_bench.py
    ... bench/ticket_bench.py --tickets 50000 --small 10000     # a quicker run
    ... bench/ticket_bench.py --rebuild                          # drop the kept databases and generate again

PostgreSQL only (the server of LINLI_BENCH_PG_URL, else of DATABASE_URL). The data lives in its own database,
``linli_bench_tickets`` for a million tickets (``linli_bench_tickets_<N>`` for other sizes), kept between runs:
a run that finds the database holding the same generated data only migrates it (so new indexes are built) and
measures. ``--rebuild`` drops it first.

The data: a district of 3 streets, 12 communities, 36 estates (12 buildings of 2 entrances of 18 dwellings:
15,552 dwellings), one resident per dwelling, a committee per community, a property company per estate, a
street office per street, 108 staff; tickets over 3.2 years (more recent years busier, day-time hours), the nine
default categories with their deadlines, the five kinds, every status (older tickets mostly closed), every
channel, places spread over dwellings, buildings and estates, response and resolution times drawn around the
category deadlines (so some are overdue), pauses, reopenings, ratings on about half the closed tickets. All of
it is written with COPY (psycopg), not through the ORM.

Two sizes are measured, each in a child process on its own database: ``--small`` (10,000) and ``--tickets``
(1,000,000). At each, through Django's test client with a bearer token (the page with a session), as a district
admin, a street admin and community staff: the staff ticket list (default filters, filter combinations, deep
pages), search (a ticket number, an id, words), and the KPI table of the district and of a community over a
year. It reports the query count of each request (which must be the same at both sizes), p50 / p95 latency
of --repeat calls and their ratio to the baseline GET /api/v1/me measured in the same run. Targets (issue 3):
list and search p95 <= 50 ms; KPIs of a district for a year <= 1 s. Exit status 1 when a target is missed or a
query count differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = 3  # bump when the generated data changes: kept databases are rebuilt
STREETS, COMMUNITIES, ESTATES, BUILDINGS, ENTRANCES, FLOORS, FLATS = 3, 4, 3, 12, 2, 6, 3
ESTATE_NAMES = "祥和苑 幸福里 桂花园 阳光城 锦绣家园 翠微居 金色港湾 书香门第 滨湖花园 丹桂苑 温泉新村 龙潭小区".split()
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国红梅志玉海燕文辉雪婷浩然子涵欣怡"
# category code -> (weight, phrases of a title)
PHRASES = {
    "water-power": (25, ["厨房水管漏水", "卫生间下水道堵塞", "楼道灯不亮", "家里突然停电", "水压太低", "热水器漏电"]),
    "public-facilities": (15, ["电梯故障停运", "单元门禁坏了", "健身器材损坏", "楼道扶手松动", "信报箱门掉了"]),
    "sanitation": (12, ["垃圾桶满了没人清理", "楼道堆放杂物", "化粪池冒水", "小区道路有油污"]),
    "greenery": (5, ["树枝挡住窗户", "草坪枯死", "绿化带有蚊虫"]),
    "parking": (10, ["车位被占用", "消防通道停车", "充电桩不能用", "道闸不抬杆"]),
    "noise": (8, ["楼上装修噪音", "广场舞音响太吵", "夜间施工扰民", "空调外机噪音"]),
    "property-service": (12, ["物业费收费不合理", "保安态度差", "维修不及时", "公共收益不公开"]),
    "safety-hazard": (5, ["楼道电动车充电", "外墙瓷砖脱落", "燃气管道有异味", "消防栓没有水"]),
    "other": (8, ["咨询老旧小区改造", "建议增加休息座椅", "表扬维修师傅", "询问办证材料"]),
}
RARE_WORD = "紫藤花架"  # in about one ticket in 25,000
KINDS = (("repair", 58), ("complaint", 16), ("consultation", 12), ("suggestion", 9), ("praise", 5))
CHANNELS = (("app", 48), ("phone", 20), ("message_board", 8), ("walk_in", 8), ("grid_patrol", 9), ("hotline", 6),
            ("alert", 1))
OLD_STATUS = (("closed", 880), ("rejected", 50), ("withdrawn", 40), ("in_progress", 8), ("paused", 7),
              ("reopened", 10), ("resolved", 5))
NEW_STATUS = (("submitted", 12), ("accepted", 8), ("dispatched", 12), ("in_progress", 15), ("paused", 3),
              ("resolved", 15), ("closed", 25), ("rejected", 4), ("withdrawn", 3), ("reopened", 3))
YEARS = 3.2


def weighted(pairs):
    items = [k for k, _ in pairs]
    cum, total = [], 0
    for _, w in pairs:
        total += w
        cum.append(total)
    return items, cum


# ---------------------------------------------------------------- databases

def server_url() -> str | None:
    for name in ("LINLI_BENCH_PG_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgres"):
            return url
    return None


def db_name(tickets: int) -> str:
    return "linli_bench_tickets" if tickets == 1_000_000 else f"linli_bench_tickets_{tickets}"


def with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def prepare_database(server: str, name: str, tickets: int, rebuild: bool) -> bool:
    """Create the database when missing (or dropped by --rebuild); True when it already holds this data."""
    import psycopg

    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and rebuild:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            return False
    with psycopg.connect(with_db(server, name), autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('bench_meta')").fetchone()[0] is not None
        meta = conn.execute("SELECT tickets, generator FROM bench_meta").fetchone() if found else None
    if meta == (tickets, GENERATOR):
        return True
    # an interrupted build or other data: start again from an empty database
    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return False


# ---------------------------------------------------------------- the data

@dataclass
class World:
    district: int
    streets: list[int]
    communities: list[int]
    estates: list[int]
    categories: dict[str, int]


def build_places() -> tuple[object, list, list, list, list[tuple[int, str, int, int]], list[tuple[int, str, int]]]:
    """District, streets, communities, estates through the actions; buildings, entrances, dwellings in bulk.
    Returns the places and (pk, path, estate index, community index) of every dwelling, and of every building."""
    from django.db.models import Max

    from linli.core.actor import Actor
    from linli.places.actions import create_place
    from linli.places.models import Place
    from linli.places.paths import natural_key

    system = Actor.system("bench")
    district = create_place(actor=system, kind="district", parent=None, name="咸安区", code="421202")
    streets = [create_place(actor=system, kind="street", parent=district, name=n, code=f"42120200{i + 1}")
               for i, n in enumerate(["浮山街道", "温泉街道", "永安街道"][:STREETS])]
    communities = [create_place(actor=system, kind="community", parent=s, name=f"{s.name[:2]}第{c + 1}社区")
                   for s in streets for c in range(COMMUNITIES)]
    estates = [create_place(actor=system, kind="estate", parent=c, name=ESTATE_NAMES[e % len(ESTATE_NAMES)]
                            + ("" if e < len(ESTATE_NAMES) else str(e)))
               for i, c in enumerate(communities) for e in range(i * ESTATES, (i + 1) * ESTATES)]
    next_pk = (Place.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    rows: list = []
    dwellings: list[tuple[int, str, int, int]] = []
    buildings: list[tuple[int, str, int]] = []

    def add(kind: str, parent_pk: int, parent_path: str, depth: int, name: str) -> tuple[int, str]:
        nonlocal next_pk
        pk, path = next_pk, f"{parent_path}{next_pk}/"
        next_pk += 1
        rows.append(Place(pk=pk, kind=kind, parent_id=parent_pk, path=path, depth=depth, name=name,
                          sort_key=natural_key(name)))
        return pk, path

    for ei, estate in enumerate(estates):
        for b in range(BUILDINGS):
            bpk, bpath = add("building", estate.pk, estate.path, 4, f"{b + 1}栋")
            buildings.append((bpk, bpath, ei))
            for e in range(ENTRANCES):
                epk, epath = add("entrance", bpk, bpath, 5, f"{e + 1}单元")
                for floor in range(FLOORS):
                    for flat in range(FLATS):
                        pk, path = add("dwelling", epk, epath, 6, f"{floor + 1}{flat + 1:02d}")
                        dwellings.append((pk, path, ei, ei // ESTATES))
    Place.objects.bulk_create(rows, batch_size=5_000)
    reset_sequences(Place)
    return district, streets, communities, estates, dwellings, buildings


def reset_sequences(*models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


def add_residents(dwellings) -> list[int]:
    """One resident per dwelling (encrypted fields through their own fields, as the registry stores them)."""
    from resident_list_bench import insert_rows, next_keys, person

    from linli.core.crypto import lookup_hash
    from linli.core.identity import mask_id_number, mask_phone
    from linli.people.models import Resident

    (pk,) = next_keys(Resident)
    ids, rows = [], []
    for i, (dwelling, path, _e, _c) in enumerate(dwellings):
        id_number, name, male, born, phone = person(i)
        rows.append({"id": pk, "place_id": dwelling, "place_path": path, "name": name, "sex": "M" if male else "F",
                     "birth_date": born, "id_number": id_number, "id_hash": lookup_hash("id", id_number),
                     "id_mask": mask_id_number(id_number), "phone": phone, "phone_hash": lookup_hash("phone", phone),
                     "phone_mask": mask_phone(phone), "ethnicity": "汉族", "source": "bench"})
        ids.append(pk)
        pk += 1
    for lo in range(0, len(rows), 5_000):
        insert_rows(Resident, rows[lo:lo + 5_000])
    reset_sequences(Resident)
    return ids


def add_organisations(streets, communities, estates) -> tuple[list[int], list[int], list[int], list[list[int]],
                                                               list[list[int]]]:
    """A street office per street, a committee per community, a property company per estate; 3 committee staff per
    community and 2 property staff per estate (users without a usable password)."""
    from django.contrib.auth import get_user_model

    from linli.tickets.models import Organisation

    def org(kind, place, name):
        return Organisation(kind=kind, place=place, place_path=place.path, name=name)

    offices = Organisation.objects.bulk_create([org("street_office", s, f"{s.name}办事处") for s in streets])
    committees = Organisation.objects.bulk_create([org("community_committee", c, f"{c.name}居委会") for c in communities])
    companies = Organisation.objects.bulk_create([org("property_company", e, f"{e.name}物业服务中心") for e in estates])
    User = get_user_model()
    users = []
    for i in range(len(communities) * 3 + len(estates) * 2):
        u = User(username=f"bench_handler_{i}", first_name=GIVEN[i % len(GIVEN)] + GIVEN[(i * 7) % len(GIVEN)],
                 last_name=SURNAMES[i % len(SURNAMES)])
        u.set_unusable_password()
        users.append(u)
    users = User.objects.bulk_create(users)
    committee_staff = [[u.pk for u in users[c * 3:c * 3 + 3]] for c in range(len(communities))]
    base = len(communities) * 3
    company_staff = [[u.pk for u in users[base + e * 2:base + e * 2 + 2]] for e in range(len(estates))]
    return ([o.pk for o in offices], [o.pk for o in committees], [o.pk for o in companies], committee_staff,
            company_staff)


def ts(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def lognormal_seconds(rng: random.Random, median: float, sigma: float) -> int:
    return max(30, int(median * math.exp(rng.gauss(0, sigma))))


def generate_tickets(n: int, dwellings, buildings, estates, residents, orgs, seed: int = 20260423) -> float:
    """Write n tickets and their ratings with COPY; returns the seconds it took."""
    from django.db import connection

    from linli.tickets.models import Category

    started = time.perf_counter()
    rng = random.Random(seed)
    _offices, committees, companies, committee_staff, company_staff = orgs
    cats = {c.code: c for c in Category.objects.filter(place_path="")}
    cat_codes, cat_cum = weighted([(code, w) for code, (w, _) in PHRASES.items()])
    kinds, kind_cum = weighted(KINDS)
    channels, channel_cum = weighted(CHANNELS)
    old_st, old_cum = weighted(OLD_STATUS)
    new_st, new_cum = weighted(NEW_STATUS)
    hours, hour_cum = weighted([(h, w) for h, w in zip(range(24), [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 9, 10, 12,
                                                                   12, 11, 10, 9, 8, 6, 4, 2, 1], strict=True)])
    now = time.time()
    span = YEARS * 365 * 86_400
    # creation times: density growing with time (sqrt of a uniform), at day-time hours, sorted so ids follow time
    days = sorted(now - span + span * math.sqrt(rng.random()) for _ in range(n))
    created = []
    for d in days:
        midnight = d - (d + 8 * 3600) % 86_400  # local (UTC+8) midnight
        c = midnight + rng.choices(hours, cum_weights=hour_cum)[0] * 3600 + rng.random() * 3600
        created.append(min(c, now - 60))
    created.sort()
    columns = ["id", "created_at", "updated_at", "place_id", "place_path", "kind", "category_id", "title",
               "description", "longitude", "latitude", "preferred_from", "preferred_until", "channel", "reporter_id",
               "reporter_name", "created_by_id", "status", "version", "organisation_id", "assignee_id", "respond_by",
               "resolve_by", "respond_remind_at", "resolve_remind_at", "responded_at", "dispatched_at", "started_at",
               "paused_at", "resolved_at", "closed_at", "reopened_at", "paused_seconds", "response_seconds",
               "resolution_seconds", "response_overdue", "resolution_overdue", "respond_reminded_at",
               "resolve_reminded_at", "respond_escalated_at", "resolve_escalated_at", "reopen_count", "status_note",
               "resolution_note", "rating_overall"]
    rating_columns = ["id", "ticket_id", "overall", "speed", "attitude", "comment", "rated_by_id", "created_at"]
    N = r"\N"
    raw = connection.connection  # the psycopg connection under Django's
    rating_id = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM tickets_ticket")
        first = cursor.fetchone()[0] + 1
    pending_ratings: list[str] = []
    with raw.cursor() as cur:
        with cur.copy(f"COPY tickets_ticket ({', '.join(columns)}) FROM STDIN") as copy:
            lines: list[str] = []
            for i in range(n):
                tid = first + i
                c = created[i]
                code = rng.choices(cat_codes, cum_weights=cat_cum)[0]
                cat = cats[code]
                kind = "complaint" if code == "noise" and rng.random() < 0.6 else rng.choices(kinds, cum_weights=kind_cum)[0]
                where = rng.random()
                home = rng.randrange(len(dwellings))
                if where < 0.8:
                    place, path, ei, ci = dwellings[home]
                    spot = ""
                elif where < 0.9:
                    place, path, ei = buildings[rng.randrange(len(buildings))]
                    ci = ei // ESTATES
                    spot = "楼下"
                else:
                    ei = rng.randrange(len(estates))
                    place, path, ci = estates[ei].pk, estates[ei].path, ei // ESTATES
                    spot = "小区内"
                by_committee = cat.organisation_kind == "community_committee" or kind == "complaint"
                organisation = committees[ci] if by_committee else companies[ei]
                staff = committee_staff[ci] if by_committee else company_staff[ei]
                channel = rng.choices(channels, cum_weights=channel_cum)[0]
                reporter = N
                reporter_name = ""
                if channel == "app" or channel in ("phone", "walk_in") and where < 0.8:
                    reporter = str(residents[home])  # at home, or a public spot somewhere
                elif channel in ("phone", "hotline", "message_board"):
                    reporter_name = SURNAMES[i % len(SURNAMES)] + ("先生" if i % 2 else "女士")
                phrase = rng.choice(PHRASES[code][1])
                title = phrase if i % 25_000 != 7 else f"{RARE_WORD}{phrase}"
                description = f"{spot}{phrase}，已经{1 + i % 9}天了，请尽快安排人员处理。联系时间：{8 + i % 10}点以后。"
                age = now - c
                status = (rng.choices(old_st, cum_weights=old_cum)[0] if age > 14 * 86_400
                          else rng.choices(new_st, cum_weights=new_cum)[0])
                respond_by = c + cat.response_minutes * 60
                resolve_by = c + cat.resolution_hours * 3600
                row = dict.fromkeys(columns, N)
                responded = status not in ("submitted", "withdrawn") or (status == "withdrawn" and i % 2)
                resp_s = lognormal_seconds(rng, cat.response_minutes * 60 * 0.45, 0.8)
                response_overdue = (resp_s > cat.response_minutes * 60) if responded else (now > respond_by)
                paused = rng.random() < 0.05 and status not in ("submitted", "accepted", "rejected", "withdrawn")
                paused_s = int(rng.uniform(3_600, 3 * 86_400)) if paused else 0
                resolve_by += paused_s
                reached = {"dispatched": 1, "in_progress": 2, "paused": 2, "resolved": 3, "closed": 4, "reopened": 3}
                stage = reached.get(status, 0)
                resolved = stage >= 3
                res_s = lognormal_seconds(rng, cat.resolution_hours * 3600 * 0.35, 0.9)
                if responded:
                    row["responded_at"] = ts(min(c + resp_s, now))
                    row["response_seconds"] = str(resp_s)
                if stage >= 1:
                    row["dispatched_at"] = ts(min(c + resp_s + 60, now))
                    row["assignee_id"] = str(staff[i % len(staff)])
                if stage >= 2:
                    row["started_at"] = ts(min(c + resp_s + 1_800, now))
                if status == "paused":
                    row["paused_at"] = ts(min(c + resp_s + 3_600, now))
                resolution_overdue = False
                reopen_count = 0
                if resolved:
                    done = min(c + res_s + paused_s, now - 1)
                    row["resolved_at"] = ts(done)
                    row["resolution_seconds"] = str(max(0, int(done - c - paused_s)))
                    row["resolution_note"] = "已处理完毕"
                    resolution_overdue = done > resolve_by
                    r = rng.random()
                    reopen_count = 1 if status == "reopened" or r < 0.04 else (2 if r < 0.05 else 0)
                    if status == "reopened":
                        row["reopened_at"] = ts(min(done + 86_400, now))
                    if status == "closed":
                        closed = min(done + rng.uniform(3_600, 6 * 86_400), now)
                        row["closed_at"] = ts(closed)
                        if rng.random() < 0.5:
                            rating_id += 1
                            o = rng.choices((5, 4, 3, 2, 1), cum_weights=(60, 85, 93, 97, 100))[0]
                            row["rating_overall"] = str(o)  # kept on the ticket too, as rate_ticket does
                            pending_ratings.append("\t".join([
                                str(rating_id), str(tid), str(o), str(max(1, o - (i % 3 == 0))),
                                str(max(1, o - (i % 5 == 0))), "很满意" if o >= 4 else "处理太慢", N, ts(closed)]))
                elif status not in ("submitted", "withdrawn", "rejected"):
                    resolution_overdue = now > resolve_by
                versions = {"submitted": 1, "accepted": 2, "rejected": 2, "withdrawn": 2, "dispatched": 3,
                            "in_progress": 4, "paused": 5, "resolved": 5, "closed": 6, "reopened": 6}
                row.update({
                    "id": str(tid), "created_at": ts(c), "updated_at": ts(min(c + resp_s + res_s, now)),
                    "place_id": str(place), "place_path": path, "kind": kind, "category_id": str(cat.pk),
                    "title": title, "description": description, "channel": channel, "reporter_id": reporter,
                    "reporter_name": reporter_name, "status": status,
                    "version": str(versions[status] + paused + 2 * reopen_count),
                    "organisation_id": str(organisation), "respond_by": ts(respond_by), "resolve_by": ts(resolve_by),
                    "respond_remind_at": ts(max(c, respond_by - cat.remind_before_minutes * 60)),
                    "resolve_remind_at": ts(max(c, resolve_by - cat.remind_before_minutes * 60)),
                    "paused_seconds": str(paused_s), "response_overdue": "t" if response_overdue else "f",
                    "resolution_overdue": "t" if resolution_overdue else "f", "reopen_count": str(reopen_count),
                    "status_note": "不属于受理范围" if status == "rejected" else "",
                    "resolution_note": row["resolution_note"] if resolved else "",
                })
                lines.append("\t".join(row[k] for k in columns))
                if len(lines) == 5_000:
                    copy.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                copy.write("\n".join(lines) + "\n")
        with cur.copy(f"COPY tickets_rating ({', '.join(rating_columns)}) FROM STDIN") as copy:
            for lo in range(0, len(pending_ratings), 10_000):
                copy.write("\n".join(pending_ratings[lo:lo + 10_000]) + "\n")
    from linli.tickets.models import Rating, Ticket

    reset_sequences(Ticket, Rating)
    return time.perf_counter() - started


def build(tickets: int) -> None:
    from django.db import connection, transaction

    from linli.core.permissions import Role
    from linli.core.testing import make_user

    started = time.perf_counter()
    with transaction.atomic():
        district, streets, communities, estates, dwellings, buildings = build_places()
        residents = add_residents(dwellings)
        orgs = add_organisations(streets, communities, estates)
        make_user("bench_district", Role.DISTRICT_ADMIN, district)
        make_user("bench_street", Role.STREET_ADMIN, streets[0])
        make_user("bench_community", Role.COMMUNITY_STAFF, communities[0])
        print(f"places, {len(residents):,} residents, organisations, users: {time.perf_counter() - started:.1f} s",
              flush=True)
        took = generate_tickets(tickets, dwellings, buildings, estates, residents, orgs)
        print(f"{tickets:,} tickets written with COPY in {took:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_meta (tickets integer, generator integer, built_at timestamptz)")
            cursor.execute("INSERT INTO bench_meta VALUES (%s, %s, now())", [tickets, GENERATOR])
    vacuum()
    print(f"built in {time.perf_counter() - started:.1f} s", flush=True)


def vacuum() -> None:
    """What autovacuum does after a bulk load in production (statistics, and the visibility map that lets the
    index-only scans skip the table)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE {time.perf_counter() - started:.1f} s", flush=True)


# ---------------------------------------------------------------- measuring

@dataclass
class Result:
    group: str
    kind: str
    url: str
    queries: int
    count: int
    p50: float
    p95: float
    limit: float


def measure(call, repeat: int) -> list[float]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)


def p95(samples: list[float]) -> float:
    return samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)]


def requests(world: dict, today: dt.date) -> list[tuple[str, str, str, str, float]]:
    """(group, label, who, url, target ms) of every measured request."""
    year_ago = today - dt.timedelta(days=364)
    period = f"since={year_ago:%Y-%m-%d}&until={today:%Y-%m-%d}"
    lst = "/api/v1/tickets?limit=50"
    cat, estate, community = world["category"], world["estate"], world["community"]
    total, street_total, community_total = world["total"], world["street_total"], world["community_total"]
    return [
        ("base", "baseline: GET /me", "district", "/api/v1/me", 0),
        ("list", "district: first page", "district", lst, 50),
        ("list", "street: first page", "street", lst, 50),
        ("list", "community: first page", "community", lst, 50),
        ("list", "district: status submitted", "district", f"{lst}&status=submitted", 50),
        ("list", "district: overdue, complaints", "district", f"{lst}&overdue=true&kind=complaint", 50),
        ("list", "street: category + closed", "street", f"{lst}&category_id={cat}&status=closed", 50),
        ("list", "community: in progress", "community", f"{lst}&status=in_progress", 50),
        ("list", "district: one estate", "district", f"{lst}&place_id={estate}", 50),
        ("list", "district: one assignee", "district", f"{lst}&assignee_id={world['assignee']}", 50),
        ("list", "district: page 200 (offset 10k)", "district", f"{lst}&offset={min(10_000, total - 50)}", 50),
        # deep pages as the API's next links reach them (a cursor), and by offset (kept for old clients: no
        # target, an offset walks the index up to it)
        ("list", "street: middle page (cursor)", "street", f"{lst}&cursor={world['street_middle']}", 50),
        ("list", "community: last page (cursor)", "community", f"{lst}&cursor={world['community_last']}", 50),
        ("list", "street: middle page (offset)", "street", f"{lst}&offset={street_total // 2}", 0),
        ("list", "community: last page (offset)", "community", f"{lst}&offset={community_total - 50}", 0),
        ("list", "page: ticket pool (community)", "community_page", "/tickets/", 50),
        ("search", "district: by number", "district", f"{lst}&q={world['number']}", 50),
        ("search", "community: by id", "community", f"{lst}&q={world['own_id']}", 50),
        ("search", "district: words (common)", "district", f"{lst}&q=电梯故障", 50),
        ("search", "district: words (rare)", "district", f"{lst}&q={RARE_WORD}", 50),
        ("search", "street: words", "street", f"{lst}&q=楼上装修", 50),
        ("search", "community: words", "community", f"{lst}&q=漏水", 50),
        ("kpi", "district year, total", "district", f"/api/v1/tickets/kpis?{period}&group=total", 1000),
        ("kpi", "district year, by street", "district",
         f"/api/v1/tickets/kpis?{period}&group=place&place_id={world['district']}", 1000),
        ("kpi", "district year, by category", "district", f"/api/v1/tickets/kpis?{period}&group=category", 1000),
        ("kpi", "district year, by month", "district", f"/api/v1/tickets/kpis?{period}&group=month", 1000),
        ("kpi", "district year, by organisation", "district", f"/api/v1/tickets/kpis?{period}&group=organisation",
         1000),
        ("kpi", "district year, page by street", "district_page",
         f"/tickets/kpis/?{period}&group=place&place_id={world['district']}", 1000),
        ("kpi", "community year, by estate", "community", f"/api/v1/tickets/kpis?{period}&group=place", 1000),
        ("kpi", "district: a community's year", "district",
         f"/api/v1/tickets/kpis?{period}&group=assignee&place_id={community}", 1000),
    ]


def world_facts() -> dict:
    from django.utils import timezone

    from linli.places.models import Place
    from linli.tickets.models import Category, Ticket
    from linli.tickets.queries import cursor_of

    community = Place.objects.filter(kind="community").order_by("pk").first()
    street = Place.objects.filter(kind="street").order_by("pk").first()
    newest_there = Ticket.objects.filter(place_path__startswith=community.path).order_by("-pk").first()
    middle = Ticket.objects.order_by("pk")[Ticket.objects.count() // 2]
    newest_first = Ticket.objects.order_by("-created_at", "-id")
    street_total = Ticket.objects.filter(place_path__startswith=street.path).count()
    community_total = Ticket.objects.filter(place_path__startswith=community.path).count()
    return {
        "category": Category.objects.get(code="water-power", place_path="").pk,
        "estate": Place.objects.filter(kind="estate", path__startswith=street.path).order_by("pk")[1].pk,
        "community": community.pk,
        "district": Place.objects.get(kind="district").pk,
        "assignee": Ticket.objects.filter(assignee__isnull=False).order_by("pk").values_list("assignee_id",
                                                                                             flat=True)[0],
        "number": f"{timezone.localtime(middle.created_at):%Y%m%d}-{middle.pk:06d}",
        "own_id": newest_there.pk,
        "total": Ticket.objects.count(),
        # the cursors of the rows just before those pages: the next_cursor a client holds there
        "street_middle": cursor_of(newest_first.filter(place_path__startswith=street.path)[street_total // 2 - 1]),
        "community_last": cursor_of(newest_first.filter(place_path__startswith=community.path)[community_total - 51]),
        "street_total": street_total,
        "community_total": community_total,
    }


def run(repeat: int, kpi_repeat: int, only: list[str] | None = None) -> list[Result]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from linli.core.testing import make_token

    User = get_user_model()
    clients = {}
    for who in ("district", "street", "community"):
        user = User.objects.get(username=f"bench_{who}")
        clients[who] = Client(headers={"Authorization": f"Bearer {make_token(user, 'bench')}"})
        page = Client()
        page.force_login(user)
        clients[f"{who}_page"] = page
    facts = world_facts()
    results = []
    for group, label, who, url, target in requests(facts, timezone.localdate()):
        if only and group != "base" and not any(word in label for word in only):
            continue
        client = clients[who]

        def get(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            return response

        samples = measure(get, kpi_repeat if group == "kpi" else repeat)
        with CaptureQueriesContext(connection) as ctx:
            response = get()
        count = 0
        if response.get("Content-Type", "").startswith("application/json"):
            body = response.json()
            count = body.get("count", 0) if "count" in body else body.get("total", {}).get("tickets", 0)
        results.append(Result(group, label, url, len(ctx.captured_queries), count, statistics.median(samples),
                              p95(samples), target))
    return results


def report(tickets: int, results: list[Result]) -> list[str]:
    import os as _os

    base = results[0].p50
    load = ", ".join(f"{x:.2f}" for x in _os.getloadavg())
    lines = [f"--- {tickets:,} tickets; load average {load}",
             f"{'request':36} {'queries':>7} {'rows':>9} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>8}  target"]
    for r in results:
        verdict = "" if not r.limit else ("ok" if r.p95 <= r.limit else "MISSED") + f" (p95 <= {r.limit:.0f} ms)"
        lines.append(f"{r.kind:36} {r.queries:7d} {r.count:9,d} {r.p50:8.1f} {r.p95:8.1f} {r.p50 / base:8.1f}  "
                     f"{verdict}")
    return lines


def child(args) -> int:
    server = server_url()
    name = db_name(args.tickets)
    # the keys that encrypt the residents' fields live in the var folder: kept with the database it encrypted
    var = ROOT / "var" / "bench" / name
    kept = prepare_database(server, name, args.tickets, args.rebuild or not var.exists())
    var.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="linli-ticketbench-") as tmp:
        os.environ.update({"DATABASE_URL": with_db(server, name), "LINLI_VAR_DIR": str(var),
                           "LINLI_MEDIA_ROOT": tmp, "LINLI_HUEY_IMMEDIATE": "1"})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"database {name} ({'kept' if kept else 'new'}); migrate {time.perf_counter() - started:.1f} s",
              flush=True)
        if not kept:
            build(args.tickets)
        else:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE tickets_ticket")
                cursor.execute("ANALYZE tickets_rating")
        results = run(args.repeat, args.kpi_repeat, args.only)
    print("\n".join(report(args.tickets, results)), flush=True)
    Path(args.out).write_text(json.dumps([asdict(r) for r in results]))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="the size whose query counts must be the same")
    parser.add_argument("--repeat", type=int, default=40, help="calls per list or search request")
    parser.add_argument("--kpi-repeat", type=int, default=5, help="calls per KPI request")
    parser.add_argument("--rebuild", action="store_true", help="drop the kept databases and generate the data again")
    parser.add_argument("--only", action="append", metavar="WORDS",
                        help="measure only the requests whose label holds WORDS (repeatable; the baseline always)")
    parser.add_argument("--skip-without-pg", action="store_true", help="exit 0 (skipped) when no PostgreSQL is set")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if server_url() is None:
        print("ticket_bench needs PostgreSQL: set LINLI_BENCH_PG_URL (or DATABASE_URL) to postgres://..."
              + (" (skipped)" if args.skip_without_pg else ""), file=sys.stderr)
        return 0 if args.skip_without_pg else 2
    if args.child:
        return child(args)
    sizes = [args.small, args.tickets] if args.small and args.small != args.tickets else [args.tickets]
    runs: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="linli-ticketbench-") as tmp:
        for size in sizes:
            out = Path(tmp) / f"{size}.json"
            cmd = [sys.executable, __file__, "--child", "--tickets", str(size), "--repeat", str(args.repeat),
                   "--kpi-repeat", str(args.kpi_repeat), "--out", str(out)]
            cmd += [x for word in args.only or [] for x in ("--only", word)] + (["--rebuild"] if args.rebuild else [])
            if subprocess.run(cmd, cwd=ROOT).returncode:
                return 1
            runs[size] = json.loads(out.read_text())
    failed = 0
    big = runs[args.tickets]
    if len(sizes) == 2:
        small = runs[args.small]
        for a, b in zip(small, big, strict=True):
            if a["queries"] != b["queries"]:
                failed += 1
                print(f"query count of {b['kind']!r} grows: {a['queries']} at {args.small:,}, {b['queries']} at "
                      f"{args.tickets:,}")
        if not failed:
            print(f"query counts at {args.small:,} and {args.tickets:,} tickets: equal")
    missed = [r["kind"] for r in big if r["limit"] and r["p95"] > r["limit"]]
    failed += len(missed)
    print(f"targets at {args.tickets:,} tickets: " + (f"MISSED by {', '.join(missed)}" if missed else "all met"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
