"""The role table as a matrix: every role x every permission, written out here by hand so a change to the table in
code is a visible, reviewed change to this test. Then the scope arithmetic of Actor."""

from __future__ import annotations

import pytest

from linli.core.actor import GLOBAL_PATH, Actor, Grant, require_visible
from linli.core.errors import NotFound, PermissionDenied
from linli.core.permissions import ROLE_PERMISSIONS, ROLE_PLACE_KINDS, Perm, Role, role_can

ALL_PERMS = [
    Perm.PLACE_VIEW, Perm.PLACE_EDIT, Perm.PLACE_MERGE, Perm.FACILITY_EDIT, Perm.GRID_EDIT,
    Perm.RESIDENT_VIEW, Perm.RESIDENT_EDIT, Perm.RESIDENT_REVEAL, Perm.RESIDENT_IMPORT, Perm.RESIDENT_EXPORT,
    Perm.AUDIT_VIEW, Perm.USER_MANAGE, Perm.NOTIFY_MANAGE,
    Perm.TICKET_SUBMIT, Perm.TICKET_VIEW, Perm.TICKET_HANDLE, Perm.TICKET_DISPATCH, Perm.TICKET_CONFIGURE,
    Perm.TICKET_KPI,
    Perm.DEVICE_VIEW, Perm.DEVICE_MANAGE, Perm.PASSAGE_VIEW, Perm.PASSAGE_MANAGE,
    Perm.ALERT_VIEW, Perm.ALERT_HANDLE, Perm.RULE_MANAGE,
]

# Columns in the order of ALL_PERMS:
#                        place           resident                                      ticket                                     device    passage     alert       rule
#                        view edit merge fac  grid view edit reveal import export audit users notify submit view handle dispatch configure kpi  view manage view manage view handle manage
EXPECTED = {
    Role.RESIDENT:         "X    .    .    .    .    X    .    .    .    .    .    .    .    X    .    .    .    .    .    .    .    .    .    .    .    .",
    Role.OWNERS_COMMITTEE: "X    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .",
    Role.PROPERTY_STAFF:   "X    .    .    .    .    X    .    .    .    .    .    .    .    X    X    X    X    .    X    X    X    X    X    X    X    .",
    Role.GRID_WORKER:      "X    .    .    .    .    X    X    X    .    X    .    .    .    X    X    X    .    .    .    X    .    X    .    X    X    .",
    Role.COMMUNITY_STAFF:  "X    X    .    X    X    X    X    X    X    X    X    .    X    X    X    X    X    X    X    X    X    X    X    X    X    X",
    Role.STREET_ADMIN:     "X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X",
    Role.DISTRICT_ADMIN:   "X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X    X",
    Role.SYSTEM_ADMIN:     "X    X    X    X    X    .    .    .    .    .    X    X    X    .    .    .    .    X    .    X    X    .    .    .    .    .",
}


def _cells():
    for role, row in EXPECTED.items():
        marks = row.split()
        assert len(marks) == len(ALL_PERMS), role
        for perm, mark in zip(ALL_PERMS, marks, strict=True):
            yield role, perm, mark == "X"


def test_given_the_expected_matrix_when_compared_then_it_covers_every_role_and_every_permission():
    declared = {v for k, v in vars(Perm).items() if k.isupper()}
    assert set(ALL_PERMS) == declared
    assert set(EXPECTED) == set(Role.values) == set(ROLE_PERMISSIONS)
    assert set(ROLE_PLACE_KINDS) == set(Role.values)


@pytest.mark.parametrize("role, perm, allowed", list(_cells()), ids=lambda v: str(v))
def test_given_a_role_when_asked_for_a_permission_then_the_table_answers_as_expected(role, perm, allowed):
    assert role_can(role, perm) is allowed
    actor = Actor(user=object(), grants=(Grant(role=role, path="/1/2/", place_id=2),))
    assert actor.can(perm, "/1/2/3/") is allowed
    assert actor.can(perm, "/1/5/") is False


def test_given_the_system_administrator_when_checked_then_no_personal_data_permission_is_held():
    personal = {Perm.RESIDENT_VIEW, Perm.RESIDENT_EDIT, Perm.RESIDENT_REVEAL, Perm.RESIDENT_IMPORT, Perm.RESIDENT_EXPORT}
    assert not personal & ROLE_PERMISSIONS[Role.SYSTEM_ADMIN]


def test_given_an_unknown_role_when_asked_then_it_may_do_nothing():
    assert not any(role_can("janitor", p) for p in ALL_PERMS)
    actor = Actor(user=object(), grants=(Grant(role="janitor", path="/1/", place_id=1),))
    assert actor.paths_for(Perm.PLACE_VIEW) == []


def test_given_nested_and_sibling_grants_when_reduced_then_only_the_outermost_paths_remain():
    actor = Actor(user=object(), grants=(
        Grant(Role.COMMUNITY_STAFF, "/1/2/10/", 10),
        Grant(Role.GRID_WORKER, "/1/2/10/", 10),
        Grant(Role.PROPERTY_STAFF, "/1/2/10/44/", 44),
        Grant(Role.PROPERTY_STAFF, "/1/2/1/", 1),
        Grant(Role.RESIDENT, "/1/2/100/7/8/9/", 9),
    ))
    assert actor.paths_for(Perm.RESIDENT_VIEW) == ["/1/2/1/", "/1/2/10/", "/1/2/100/7/8/9/"]
    # /1/2/1/ is a textual prefix of neither /1/2/10/ nor /1/2/100/...: the trailing slash keeps siblings apart.
    assert actor.paths_for(Perm.PLACE_EDIT) == ["/1/2/10/"]
    assert actor.paths_for(Perm.USER_MANAGE) == []
    assert actor.can(Perm.RESIDENT_VIEW, "/1/2/10/44/5/") and not actor.can(Perm.RESIDENT_VIEW, "/1/2/11/")
    assert not actor.can(Perm.RESIDENT_VIEW, "/1/2/100/7/8/")


def test_given_a_global_grant_among_others_when_reduced_then_the_global_path_alone_remains_and_scope_is_unfiltered():
    actor = Actor(user=object(), grants=(Grant(Role.SYSTEM_ADMIN, GLOBAL_PATH, None),
                                         Grant(Role.COMMUNITY_STAFF, "/1/2/3/", 3)))
    assert actor.paths_for(Perm.PLACE_EDIT) == ["/"]
    assert actor.scope_q(Perm.PLACE_EDIT).children == []
    assert actor.paths_for(Perm.RESIDENT_VIEW) == ["/1/2/3/"]


def test_given_the_system_actor_when_checked_then_it_holds_everything_everywhere():
    system = Actor.system("seed")
    assert all(system.can(p, "/9/9/") for p in ALL_PERMS)
    assert system.is_authenticated and system.label == "seed"


def test_given_no_grant_when_scoped_then_nothing_matches_and_require_refuses():
    actor = Actor(user=object(), grants=())
    q = actor.scope_q(Perm.RESIDENT_VIEW)
    assert q.children == [("pk__in", [])]
    with pytest.raises(PermissionDenied):
        actor.require(Perm.RESIDENT_VIEW)
    with pytest.raises(NotFound):
        require_visible(actor, Perm.RESIDENT_VIEW, "/1/", "resident")


def test_given_a_grant_when_required_at_a_path_then_inside_passes_and_outside_is_refused():
    actor = Actor(user=object(), grants=(Grant(Role.COMMUNITY_STAFF, "/1/2/3/", 3),))
    actor.require(Perm.RESIDENT_EDIT, "/1/2/3/4/")
    actor.require(Perm.RESIDENT_EDIT)
    with pytest.raises(PermissionDenied):
        actor.require(Perm.RESIDENT_EDIT, "/1/2/4/")
    with pytest.raises(PermissionDenied):
        actor.require(Perm.USER_MANAGE)


def test_given_an_anonymous_user_when_an_actor_is_made_then_it_has_no_grant():
    class Anonymous:
        is_authenticated = False

    actor = Actor.for_user(Anonymous())
    assert actor.grants == () and not actor.is_authenticated and actor.label == "anonymous"


@pytest.mark.django_db
def test_given_the_world_personas_when_loaded_then_their_grants_come_from_role_assignments(world):
    staff_a = world.actor("staff_a")
    assert staff_a.paths_for(Perm.RESIDENT_VIEW) == [world.community_a.path]
    assert world.actor("sysadmin").paths_for(Perm.PLACE_VIEW) == ["/"]
    assert world.actor("sysadmin").paths_for(Perm.RESIDENT_VIEW) == []
    assert world.actor("resident_a").resident_id == world.resident_a.pk
    assert world.actor("nobody").grants == ()
