"""Scoped reads of tickets, categories, organisations and return visits.

Staff see the ticket pool of their ``ticket.view`` subtrees; a resident sees the tickets they reported; an
assignee sees what was given to them. Everything else is NotFound (404), never 403.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat, Left
from django.db.models.lookups import Exact

from linli.core.actor import Actor
from linli.core.errors import NotFound, invalid
from linli.core.identity import clean_text
from linli.core.permissions import ROLE_PERMISSIONS, Perm, Role
from linli.core.times import from_micros, to_micros
from linli.places.choices import PlaceKind, PlaceStatus
from linli.places.models import Place

from .choices import OrganisationKind, ReturnVisitStatus, TicketStatus
from .models import Category, Membership, Organisation, ReturnVisit, Ticket, TicketEvent, TicketPhoto

NUMBER = re.compile(r"^(?:\d{8}-)?0*(\d{1,18})$")


def path_prefixes(path: str) -> list[str]:
    """"/1/4/17/" -> ["/1/", "/1/4/", "/1/4/17/"]: the paths of a place and of its ancestors."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


# ------------------------------------------------------------------------------------------------- tickets

def ticket_scope(actor: Actor) -> Q:
    q = actor.scope_q(Perm.TICKET_VIEW)
    if q == Q():  # the whole platform (OR-ing the alternatives below onto an empty Q would keep only them)
        return q
    if actor.resident_id is not None:
        q |= Q(reporter_id=actor.resident_id)
    if actor.user is not None and getattr(actor.user, "pk", None):
        q |= Q(assignee_id=actor.user.pk)
    return q


def visible_tickets(actor: Actor) -> QuerySet[Ticket]:
    return Ticket.objects.filter(ticket_scope(actor))


def pool_scope(actor: Actor) -> Q:
    """The rows of ``ticket_scope``, in the shape the indexes answer best. Staff see their subtrees plus what they
    reported or were assigned elsewhere; that "elsewhere" is nearly always empty, and a query looks (one small
    index-only probe): when it is, the scope is the plain path prefix (a range of an index) instead of an OR over
    the whole table. The rows are the same either way."""
    own = Q()
    if actor.resident_id is not None:
        own |= Q(reporter_id=actor.resident_id)
    if actor.user is not None and getattr(actor.user, "pk", None):
        own |= Q(assignee_id=actor.user.pk)
    paths = actor.paths_for(Perm.TICKET_VIEW)
    if not paths:
        return own or Q(pk__in=[])
    area = actor.scope_q(Perm.TICKET_VIEW)
    if not own or area == Q():
        return area
    return area | own if Ticket.objects.filter(own).exclude(area).exists() else area


def place_label() -> Subquery:
    """The place of a ticket as a resident says it, from the estate down: "祥和苑 3栋 2单元 501" for a dwelling,
    "祥和苑 3栋" for a building, the place's own name at the estate and above. A subquery of the list's own query
    (three steps up the parent chain, which the place tree fixes: dwelling < entrance < building < estate), so a
    count of the same queryset leaves it out."""
    up = ["name", "parent__name", "parent__parent__name", "parent__parent__parent__name"]

    def names(n: int) -> Concat:
        parts: list = []
        for name in reversed(up[:n]):
            parts += [F(name), Value(" ")]
        return Concat(*parts[:-1], output_field=CharField())

    label = Case(When(kind=PlaceKind.DWELLING, then=names(4)), When(kind=PlaceKind.ENTRANCE, then=names(3)),
                 When(kind=PlaceKind.BUILDING, then=names(2)), default=F("name"), output_field=CharField())
    return Subquery(Place.objects.filter(pk=OuterRef("place_id")).annotate(label=label).values("label")[:1],
                    output_field=CharField())


def with_list_relations(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What a list row shows, in the same query: category, place (and ``place_label``, its path from the estate
    down), organisation, assignee, reporter."""
    return qs.select_related("category", "place", "organisation", "assignee", "reporter").annotate(
        place_label=place_label())


# The columns a list row shows (the API's TicketRow, the pool page): the page's 50 rows read these only, not the
# description, the resolution note, the reporter's registry fields and every timestamp of five tables.
ROW_FIELDS = (
    "id", "created_at", "kind", "category_id", "title", "status", "channel", "place_id", "place_path",
    "organisation_id", "assignee_id", "reporter_id", "reporter_name", "respond_by", "resolve_by",
    "response_overdue", "resolution_overdue", "reopen_count", "category__name", "place__name",
    "organisation__name", "assignee__username", "assignee__first_name", "assignee__last_name", "reporter__name",
)


def with_row_relations(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``with_list_relations`` reading only what a list row shows (``ROW_FIELDS``)."""
    return with_list_relations(qs).only(*ROW_FIELDS)


def access_ticket(actor: Actor, pk: int | str) -> Ticket:
    try:
        return with_list_relations(visible_tickets(actor)).get(pk=int(pk))
    except (Ticket.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("ticket") from exc


@dataclass
class TicketFilter:
    status: str | None = None
    kind: str | None = None
    category_id: int | None = None
    place_id: int | None = None  # tickets inside this place's subtree
    organisation_id: int | None = None
    assignee_id: int | None = None
    overdue: bool | None = None  # either deadline missed (True) or neither (False)
    channel: str | None = None
    q: str | None = None  # a ticket number (20260423-000123 or the id), or words of the title or description


COUNT_EXACT_UP_TO = 10_000
# A word search is counted up to 1,000: its matches are checked row by row (the words' index only narrows them
# down), so counting 10,000 of a common word took 60-130 ms, 1,000 a tenth of that; a page of results is newest
# first anyway, and "more than 1,000" asks for a narrower search.
WORDS_COUNT_EXACT_UP_TO = 1_000


class TicketPool(QuerySet):
    """The tickets of a search, whose ``count()`` is bounded: exact up to ``count_cap`` (``COUNT_EXACT_UP_TO``,
    ``WORDS_COUNT_EXACT_UP_TO`` for a search by words), and one more ("more than 10,000") above, so a district's
    pool of a million tickets is not counted row by row on every page (counting stops at the bound)."""

    word_search = False  # a search by words: counted up to WORDS_COUNT_EXACT_UP_TO

    def _clone(self):
        clone = super()._clone()
        clone.word_search = self.word_search
        return clone

    @property
    def count_cap(self) -> int:
        """The count is exact up to this; one more means "more than this"."""
        return WORDS_COUNT_EXACT_UP_TO if self.word_search else COUNT_EXACT_UP_TO

    def count(self) -> int:
        if self._result_cache is not None:
            return len(self._result_cache)
        bounded = self.order_by().values("pk")[:self.count_cap + 1]
        return QuerySet.count(bounded)


def with_words_narrowed(qs: QuerySet[Ticket], text: str, within: str | None = None) -> QuerySet[Ticket]:
    """On PostgreSQL, only tickets whose title and description hold every character pair of ``text`` (one
    character for a one-character search) and, with ``within`` (the path of a place below the top of the tree),
    whose place lies in that subtree: the GIN index ``ticket_words_scoped`` (migration 0005) answers both in one
    scan, intersecting the word's tickets with the subtree's, and the caller's LIKE then checks the few rows left.
    The same rows as the LIKE alone (the caller keeps its own place filter); elsewhere nothing to add.

    A place at the top of the tree (a district) is not asked for: it holds nearly every ticket, so its posting list
    would narrow nothing and only cost reading it."""
    if connections[qs.db].vendor != "postgresql" or not text:
        return qs
    from django.contrib.postgres.fields import ArrayField

    grams = sorted({text[i:i + 2] for i in range(len(text) - 1)} or {text})
    if within and within.count("/") > 2:  # "/1/4/" and below: not a top place ("/1/")
        grams.append(within)
    keys = Func(F("title"), F("description"), F("place_path"), function="linli_scoped_ngrams",
                output_field=ArrayField(TextField()))
    return qs.alias(linli_ngrams=keys).filter(linli_ngrams__contains=grams)


def _single_subtree(actor: Actor, scope: Q) -> str | None:
    """The path of the one subtree ``scope`` (``pool_scope``) is, when it is just that (one area, nothing reported
    or assigned elsewhere); else None."""
    paths = actor.paths_for(Perm.TICKET_VIEW)
    if len(paths) != 1 or paths[0] == "/" or scope != actor.scope_q(Perm.TICKET_VIEW):
        return None
    return paths[0]


def _under(path: str) -> Q:
    """Tickets inside the subtree at ``path``: a range of the path indexes."""
    return Q(place_path__startswith=path)


def _under_unindexed(path: str) -> Exact:
    """The same tickets as ``_under``, in a form no btree answers: for a word search narrowed to that subtree by
    the words' GIN index (``with_words_narrowed``), where the planner would otherwise AND the GIN's few thousand
    matches with a bitmap of the subtree's 100,000 rows built from the path index (most of the search's time)."""
    return Exact(Left("place_path", len(path)), Value(path))


def _filtered(qs: TicketPool, f: TicketFilter, place: Place | None, under) -> TicketPool:
    for field in ("status", "kind", "category_id", "organisation_id", "assignee_id", "channel"):
        value = getattr(f, field)
        if value:
            qs = qs.filter(**{field: value})
    if place is not None:
        qs = qs.filter(under(place.path))
    if f.overdue is not None:
        missed = Q(response_overdue=True) | Q(resolution_overdue=True)
        qs = qs.filter(missed if f.overdue else ~missed)
    return qs


def _pool(condition: Q | Exact) -> TicketPool:
    base = Ticket.objects.filter(condition)
    return TicketPool(model=Ticket, query=base.query, using=base.db)


def search_tickets(actor: Actor, f: TicketFilter) -> TicketPool:
    """The tickets the actor sees that match ``f``, newest first; ``count()`` is bounded (see ``TicketPool``)."""
    from linli.places.queries import access_place

    scope = pool_scope(actor)
    place = access_place(actor, f.place_id) if f.place_id else None
    qs = _filtered(_pool(scope), f, place, _under)
    if f.q:
        text = clean_text(f.q)
        number = NUMBER.match(text)
        if number:
            qs = qs.filter(pk=int(number.group(1)))
        else:
            unworded = qs
            subtree = _single_subtree(actor, scope)
            within = place.path if place is not None else subtree
            if within and connections[qs.db].vendor == "postgresql":  # the same rows, the subtree unindexed
                qs = _filtered(_pool(_under_unindexed(subtree) if subtree else scope), f, place, _under_unindexed)
            qs = with_words_narrowed(qs, text, within).filter(Q(title__contains=text) | Q(description__contains=text))
            pool = qs.order_by("-created_at", "-id")
            pool.word_search = True
            pool.words = (unworded, text)  # not kept by a clone: a further filter would make it wrong
            return pool
    return qs.order_by("-created_at", "-id")


def cursor_of(ticket: Ticket) -> str:
    """The cursor of the page after ``ticket``: its creation time (microseconds since 1970, UTC) and id."""
    return f"{to_micros(ticket.created_at)}.{ticket.pk}"


CURSOR = re.compile(r"^(-?\d{1,19})\.(\d{1,18})$")


def after_cursor(pool: TicketPool, cursor: str) -> TicketPool:
    """The tickets of ``pool`` after the one ``cursor`` names (``cursor_of``), newest first: the page's keys are
    then a range of the newest-first index starting at the cursor, whatever the depth (an offset walks the index up
    to it). A malformed cursor is a 422 naming ``cursor``."""
    found = CURSOR.match(cursor.strip())
    try:
        at = from_micros(int(found.group(1))) if found else None
    except OverflowError:
        at = None
    if at is None:
        raise invalid("cursor", "invalid", "翻页游标无效，请从第一页重新开始", "cursor is not valid: start again "
                      "from the first page")
    pk = int(found.group(2))
    words = getattr(pool, "words", None)
    after = Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk)
    # created_at <= at on its own as well: the bound an index range starts from (the OR alone is only a filter)
    narrowed = pool.filter(Q(created_at__lte=at) & after)
    if words is not None:
        unworded, text = words
        narrowed.words = (unworded.filter(Q(created_at__lte=at) & after), text)
    return narrowed


WORD_WINDOW = 5_000  # the newest tickets a word search reads first (see page_keys)


def page_keys(pool: TicketPool, offset: int, limit: int) -> list[int]:
    """The ids of ``pool[offset:offset + limit]`` (newest first), in one query.

    A word search on PostgreSQL first reads the newest ``WORD_WINDOW`` tickets of the rest of the search in the
    order of the scope's index and keeps those holding the words: a common word ("漏水") fills the page from
    them, without reading its tens of thousands of matches to sort them. Only when they are too few (a rare
    word) does the same query answer from the words' GIN index (``with_words_narrowed``), which is then the fast
    way. The choice is the query's own (its second half runs only when the first fell short), not the planner's
    estimate of the words' frequency; the rows are the same either way: when the window holds enough matches,
    the newest of them are the newest of all, every ticket outside the window being older."""
    keys = pool.values_list("pk", flat=True)
    words = getattr(pool, "words", None)
    connection = connections[pool.db]
    want = offset + limit
    if words is None or connection.vendor != "postgresql" or want > WORD_WINDOW:
        return list(keys[offset:want])
    unworded, text = words
    window_sql, window_params = (unworded.order_by("-created_at", "-id").values("id", "created_at", "title",
                                                                                "description")[:WORD_WINDOW]
                                 .query.sql_with_params())
    full_sql, full_params = pool.values("id", "created_at")[:want].query.sql_with_params()
    like = f"%{connection.ops.prep_for_like_query(text)}%"
    sql = (f"WITH w AS MATERIALIZED (SELECT s.id, s.created_at FROM ({window_sql}) s "
           f"WHERE s.title LIKE %s OR s.description LIKE %s ORDER BY s.created_at DESC, s.id DESC LIMIT {want}), "
           f"enough AS MATERIALIZED (SELECT count(*) >= {want} AS yes FROM w) "
           f"SELECT u.id FROM (SELECT w.id, w.created_at FROM w WHERE (SELECT yes FROM enough) "
           f"UNION ALL SELECT f.id, f.created_at FROM ({full_sql}) f WHERE NOT (SELECT yes FROM enough)) u "
           f"ORDER BY u.created_at DESC, u.id DESC LIMIT {limit} OFFSET {offset}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*window_params, like, like, *full_params])
        return [row[0] for row in cursor.fetchall()]


def ticket_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")


def ticket_photos(ticket: Ticket) -> QuerySet[TicketPhoto]:
    return TicketPhoto.objects.filter(ticket=ticket).order_by("stage", "id")


def with_detail_relations(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return with_list_relations(qs).prefetch_related(
        Prefetch("events", queryset=TicketEvent.objects.select_related("actor").order_by("at", "id")),
        Prefetch("photos", queryset=TicketPhoto.objects.order_by("stage", "id")),
        "rating",
    )


def ticket_detail(actor: Actor, pk: int | str) -> Ticket:
    """One ticket with its history, photos and rating (a fixed number of queries)."""
    try:
        return with_detail_relations(visible_tickets(actor)).get(pk=int(pk))
    except (Ticket.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("ticket") from exc


def estate_paths(paths: list[str]) -> list[str]:
    """The paths of the estates the places at ``paths`` lie in."""
    ids = {int(x) for p in paths for x in p.strip("/").split("/") if x}
    return list(Place.objects.filter(pk__in=ids, kind=PlaceKind.ESTATE).values_list("path", flat=True))


def access_ticket_place(actor: Actor, pk: int | str) -> Place:
    """A place the actor may file a ticket at: inside their ``ticket.submit`` subtrees (staff), or their own
    dwelling and the public spots of their estate (a resident). Anything else is NotFound."""
    try:
        place = Place.objects.get(pk=int(pk), status=PlaceStatus.ACTIVE)
    except (Place.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("place") from exc
    if actor.can(Perm.TICKET_SUBMIT, place.path):
        return place
    homes = [g.path for g in actor.grants if g.role == Role.RESIDENT]
    if place.kind != PlaceKind.DWELLING and any(place.path.startswith(e) for e in estate_paths(homes)):
        return place
    raise NotFound("place")


# ---------------------------------------------------------------------------------------------- categories

def categories_at(place: Place) -> QuerySet[Category]:
    """The active categories a ticket at ``place`` may take: global ones and those of the place's ancestors."""
    return Category.objects.filter(active=True, place_path__in=["", *path_prefixes(place.path)])


def visible_categories(actor: Actor) -> QuerySet[Category]:
    """Global categories, and those of places the actor sees tickets or configures in (or above)."""
    q = Q(place_path="")
    for perm in (Perm.TICKET_VIEW, Perm.TICKET_CONFIGURE, Perm.TICKET_SUBMIT):
        for path in actor.paths_for(perm):
            if path == "/":
                return Category.objects.all()
            q |= Q(place_path__startswith=path) | Q(place_path__in=path_prefixes(path))
    return Category.objects.filter(q)


def access_category(actor: Actor, pk: int | str) -> Category:
    try:
        return visible_categories(actor).get(pk=int(pk))
    except (Category.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("category") from exc


# ------------------------------------------------------------------------------------------- organisations

def responsible_organisation(place: Place, kind: str) -> Organisation | None:
    """The active organisation of ``kind`` nearest above (or at) ``place``."""
    return (Organisation.objects.filter(kind=kind, active=True, place_path__in=path_prefixes(place.path))
            .order_by("-place__depth", "id").first())


def visible_organisations(actor: Actor) -> QuerySet[Organisation]:
    q = Q(pk__in=[])
    for perm in (Perm.TICKET_VIEW, Perm.TICKET_CONFIGURE):
        for path in actor.paths_for(perm):
            if path == "/":
                return Organisation.objects.select_related("place")
            q |= Q(place_path__startswith=path) | Q(place_path__in=path_prefixes(path))
    return Organisation.objects.filter(q).select_related("place")


def access_organisation(actor: Actor, pk: int | str) -> Organisation:
    try:
        return visible_organisations(actor).get(pk=int(pk))
    except (Organisation.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("organisation") from exc


def active_members(organisation: Organisation) -> QuerySet[Membership]:
    """Members whose role assignment is still active, with their user."""
    return Membership.objects.filter(organisation=organisation, active=True, assignment__active=True,
                                     user__is_active=True).select_related("user", "assignment")


def on_duty_members(organisation: Organisation) -> QuerySet[Membership]:
    """Round-robin order: the member assigned longest ago (never assigned first), then by id."""
    return active_members(organisation).filter(assignment__on_duty=True).order_by(
        F("last_assigned_at").asc(nulls_first=True), "id")


def membership_of(organisation: Organisation, user_id: int) -> Membership | None:
    return active_members(organisation).filter(user_id=user_id).first()


def handling_roles() -> list[str]:
    """The roles that may handle tickets (and so be members of an organisation)."""
    return [role for role in Role.values if Perm.TICKET_HANDLE in ROLE_PERMISSIONS.get(role, ())]


def organisation_members(organisation: Organisation) -> QuerySet[Membership]:
    """Active members with their role assignment and its place (whether they are on duty is the assignment's)."""
    return (Membership.objects.filter(organisation=organisation, active=True)
            .select_related("user", "assignment", "assignment__place").order_by("user__username", "id"))


def member_candidates(organisation: Organisation) -> list[tuple[int, str]]:
    """Active role assignments that may handle the organisation's tickets (a handling role over a place at, above
    or inside the organisation's) of users not yet members: what ``add_member`` accepts."""
    from linli.accounts.models import RoleAssignment

    members = Membership.objects.filter(organisation=organisation, active=True).values("user_id")
    assignments = (RoleAssignment.objects.filter(active=True, user__is_active=True, role__in=handling_roles())
                   .filter(Q(place_path__startswith=organisation.place_path)
                           | Q(place_path__in=path_prefixes(organisation.place_path)))
                   .exclude(user_id__in=members).select_related("user", "place").order_by("place_path", "user__username"))
    roles = dict(Role.choices)
    return [(a.pk, f"{a.user.get_full_name() or a.user.get_username()} · {roles.get(a.role, a.role)}"
                   f"{' · ' + a.place.name if a.place else ''}") for a in assignments[:500]]


def open_tickets_per_category(actor: Actor, category_ids: list[int]) -> dict[int, int]:
    """Open tickets per category, counted inside the user's ticket pool only (a platform category's tickets
    elsewhere are not theirs to count)."""
    closed = [TicketStatus.CLOSED, TicketStatus.REJECTED, TicketStatus.WITHDRAWN]
    rows = (Ticket.objects.filter(pool_scope(actor), category_id__in=category_ids).exclude(status__in=closed)
            .values("category_id").annotate(n=Count("pk")).order_by())
    return {r["category_id"]: r["n"] for r in rows}


SUPERVISOR_ROLE = {
    OrganisationKind.PROPERTY_COMPANY: Role.COMMUNITY_STAFF,
    OrganisationKind.COMMUNITY_COMMITTEE: Role.STREET_ADMIN,
    OrganisationKind.STREET_OFFICE: Role.DISTRICT_ADMIN,
}


def supervisors(ticket: Ticket) -> list:
    """Who an overdue ticket escalates to: the role above the responsible organisation (community staff above a
    property company, the street above a community, the district above a street), over the ticket's place."""
    from linli.accounts.models import RoleAssignment

    role = SUPERVISOR_ROLE[OrganisationKind(ticket.organisation.kind)]
    user_ids = RoleAssignment.objects.filter(role=role, active=True, place_path__in=path_prefixes(ticket.place_path),
                                             user__is_active=True).values_list("user_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=list(user_ids)).order_by("pk"))


def reporter_account(ticket: Ticket):
    """The reporter's user account (None when they have none: a caller, a resident without a smartphone)."""
    if ticket.reporter_id is None:
        return None
    return get_user_model().objects.filter(linli_profile__resident_id=ticket.reporter_id, is_active=True).first()


# ------------------------------------------------------------------------------------------- return visits

def visible_return_visits(actor: Actor) -> QuerySet[ReturnVisit]:
    return ReturnVisit.objects.filter(actor.scope_q(Perm.TICKET_HANDLE)).select_related(
        "ticket", "ticket__category", "organisation", "place")


def search_return_visits(actor: Actor, status: str | None = ReturnVisitStatus.PENDING,
                         place_id: int | None = None) -> QuerySet[ReturnVisit]:
    from linli.places.queries import access_place

    qs = visible_return_visits(actor)
    if status:
        qs = qs.filter(status=status)
    if place_id:
        qs = qs.filter(place_path__startswith=access_place(actor, place_id).path)
    return qs.order_by("status", "due_at", "id")


def access_return_visit(actor: Actor, pk: int | str) -> ReturnVisit:
    try:
        return visible_return_visits(actor).get(pk=int(pk))
    except (ReturnVisit.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("return visit") from exc
