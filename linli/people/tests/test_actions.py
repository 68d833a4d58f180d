"""The resident registry's actions: register, update, occupancy, tags, emergency contacts, reveal."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core.actor import Actor
from linli.core.crypto import lookup_hash
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.models import AuditEntry
from linli.core.testing import random_id_number
from linli.people.actions import (
    add_emergency_contact,
    add_occupancy,
    end_occupancy,
    move_resident,
    register_resident,
    remove_emergency_contact,
    reveal_sensitive,
    set_tags,
    update_resident,
)
from linli.people.models import EmergencyContact, Occupancy, Resident, ResidentTag
from linli.places.actions import retire_place

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
ID_M_1962 = "421202196207080037"  # a man born 1962-07-08


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Resident, Occupancy, ResidentTag, EmergencyContact, AuditEntry)}


def codes(exc: ValidationFailed) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in exc.errors]


def open_tags(resident: Resident) -> list[tuple[str, int | None]]:
    rows = ResidentTag.objects.filter(resident=resident, until__isnull=True).select_related("tag").order_by("tag__code")
    return [(rt.tag.code, rt.grade) for rt in rows]


# ---------------------------------------------------------------- register_resident

def test_given_an_id_number_when_a_resident_is_registered_then_sex_birth_hashes_and_masks_are_set(world):
    r = register_resident(actor=world.actor("staff_a"), place=world.dwelling_a2, name=" 陈 志强 ",
                          id_number="４２１２０２１９６２０７０８００３７", phone="138 0013 8111", relation="户主",
                          since="2001-05-01", ethnicity="汉族", tags=["veteran", "残疾人:二级"])
    r = Resident.objects.get(pk=r.pk)
    assert (r.name, r.sex, r.birth_date, r.ethnicity) == ("陈 志强", "M", dt.date(1962, 7, 8), "汉族")
    assert (r.id_number, r.id_mask, r.id_hash) == (ID_M_1962, "421202********0037", lookup_hash("id", ID_M_1962))
    assert (r.phone, r.phone_mask, r.phone_hash) == ("13800138111", "138****8111", lookup_hash("phone", "13800138111"))
    assert (r.place_id, r.place_path, r.source) == (world.dwelling_a2.pk, world.dwelling_a2.path, "manual")
    occ = Occupancy.objects.get(resident=r)
    assert (occ.relation, occ.since, occ.until, occ.place_path) == ("head", dt.date(2001, 5, 1), None, world.dwelling_a2.path)
    assert open_tags(r) == [("disabled", 2), ("veteran", None)]
    entry = AuditEntry.objects.get(action="resident.register", target_id=str(r.pk))
    assert entry.after["id_number"] == "421202********0037" and entry.after["phone"] == "138****8111"
    assert ID_M_1962 not in str(entry.after) and "13800138111" not in str(entry.after)
    assert entry.after["relation"] == "head" and sorted(entry.after["tags"]) == ["disabled", "veteran"]


def test_given_an_id_number_already_registered_when_registering_again_then_conflict_and_nothing_written(world):
    before = counts()
    with pytest.raises(Conflict) as exc:
        register_resident(actor=world.actor("staff_b"), place=world.dwelling_b, name="王秀英",
                          id_number="421202195003150027", relation="head")
    assert exc.value.code == "duplicate_id_number" and exc.value.status == 409
    assert counts() == before


def test_given_a_birth_date_and_sex_that_disagree_with_the_id_when_registering_then_both_fields_are_named(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_resident(actor=SYSTEM, place=world.dwelling_a2, name="陈志强", id_number=ID_M_1962, sex="女",
                          birth_date="1962-08-07")
    assert codes(exc.value) == [("birth_date", "mismatch_id"), ("sex", "mismatch_id")]
    assert counts() == before


def test_given_everything_wrong_when_registering_then_every_field_is_named_and_nothing_written(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_resident(actor=SYSTEM, place=world.entrance_a, name="", id_number="421202196207080032",
                          phone="12345", relation="邻居", since="去年", tags=["unicorn", "veteran:2"])
    assert codes(exc.value) == [
        ("name", "required"), ("id_number", "check_digit"), ("phone", "format"), ("place", "wrong_kind"),
        ("relation", "invalid_choice"), ("since", "date"), ("tags", "unknown_tag"), ("tags", "grade"),
    ]
    assert counts() == before


def test_given_a_future_birth_date_or_a_relation_without_a_dwelling_when_registering_then_refused(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_resident(actor=SYSTEM, place=world.estate_a, name="未来人", birth_date="2199-01-01", relation="head")
    assert codes(exc.value) == [("birth_date", "date_range"), ("relation", "needs_dwelling")]
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    with pytest.raises(ValidationFailed) as exc:
        register_resident(actor=SYSTEM, place=world.estate_a, name="未来人", birth_date=tomorrow.isoformat())
    assert codes(exc.value) == [("birth_date", "future")]
    assert counts() == before


def test_given_a_retired_dwelling_when_registering_there_then_place_is_refused(world):
    retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="拆除")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_resident(actor=SYSTEM, place=world.dwelling_a2, name="陈志强")
    assert codes(exc.value) == [("place", "inactive")]
    assert counts() == before


@pytest.mark.parametrize("persona", ["staff_b", "property_a", "committee_a", "resident_a", "sysadmin", "nobody"])
def test_given_a_role_without_edit_rights_there_when_registering_then_permission_denied(world, persona):
    before = counts()
    with pytest.raises(PermissionDenied):
        register_resident(actor=world.actor(persona), place=world.dwelling_a2, name="陈志强")
    assert counts() == before


def test_given_no_id_number_when_registering_two_namesakes_then_both_exist_without_hashes(world):
    a = register_resident(actor=SYSTEM, place=world.dwelling_a2, name="张伟", sex="男", birth_date="1980-01-01")
    b = register_resident(actor=SYSTEM, place=world.dwelling_a2, name="张伟")
    assert (a.id_hash, a.id_mask, a.sex, b.sex, b.birth_date) == (None, "", "M", "U", None)


def test_given_a_disability_grade_and_repeated_tags_when_registering_then_one_tag_with_its_grade(world):
    r = register_resident(actor=SYSTEM, place=world.dwelling_a2, name="陈志强", tags=["disabled:3", "残疾人:三级", "veteran"])
    assert open_tags(r) == [("disabled", 3), ("veteran", None)]
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_resident(actor=SYSTEM, place=world.dwelling_a2, name="李四", tags=["disabled:1", "disabled:2"])
    assert codes(exc.value) == [("tags", "duplicate")]
    assert counts() == before


# ---------------------------------------------------------------- update_resident

def test_given_a_change_when_a_resident_is_updated_then_masked_before_and_after_are_audited(world):
    r = update_resident(actor=world.actor("grid_a"), resident=world.resident_a, phone="13912345678", notes="行动不便")
    r = Resident.objects.get(pk=r.pk)
    assert (r.phone, r.phone_mask, r.phone_hash) == ("13912345678", "139****5678", lookup_hash("phone", "13912345678"))
    entry = AuditEntry.objects.get(action="resident.update")
    assert entry.before == {"notes": "", "phone": "138****8000"}
    assert entry.after == {"notes": "行动不便", "phone": "139****5678"}


def test_given_a_corrected_id_number_when_updated_then_birth_date_and_sex_follow_it(world):
    r = update_resident(actor=SYSTEM, resident=world.resident_a, id_number=ID_M_1962)
    r = Resident.objects.get(pk=r.pk)
    assert (r.sex, r.birth_date, r.id_mask) == ("M", dt.date(1962, 7, 8), "421202********0037")


def test_given_a_birth_date_that_disagrees_with_the_stored_id_when_updated_then_birth_date_is_named(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        update_resident(actor=SYSTEM, resident=world.resident_a, birth_date="1951-03-15")
    assert codes(exc.value) == [("birth_date", "mismatch_id")]
    assert Resident.objects.get(pk=world.resident_a.pk).birth_date == dt.date(1950, 3, 15)
    assert counts() == before


def test_given_another_residents_id_number_when_updated_then_id_number_is_a_duplicate(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        update_resident(actor=SYSTEM, resident=world.resident_a, id_number="42120219850720001X")
    assert codes(exc.value) == [("id_number", "duplicate")]
    assert Resident.objects.get(pk=world.resident_a.pk).id_number == "421202195003150027"
    assert counts() == before


def test_given_no_change_when_updated_then_no_audit_entry(world):
    before = counts()
    update_resident(actor=SYSTEM, resident=world.resident_a, name="王秀英", sex="F")
    assert counts() == before


def test_given_staff_of_b_when_updating_a_resident_of_a_then_permission_denied(world):
    with pytest.raises(PermissionDenied):
        update_resident(actor=world.actor("staff_b"), resident=world.resident_a, notes="x")
    assert Resident.objects.get(pk=world.resident_a.pk).notes == ""


def test_given_a_resident_when_moved_then_the_home_place_and_scope_change(world):
    r = move_resident(actor=world.actor("staff_a"), resident=world.resident_a, place=world.dwelling_a2)
    assert (r.place_id, r.place_path) == (world.dwelling_a2.pk, world.dwelling_a2.path)
    with pytest.raises(PermissionDenied):
        move_resident(actor=world.actor("staff_a"), resident=r, place=world.dwelling_b)
    assert Resident.objects.get(pk=r.pk).place_id == world.dwelling_a2.pk


# ---------------------------------------------------------------- occupancy

def test_given_a_resident_when_an_occupancy_is_added_then_the_home_follows_unless_owner(world):
    occ = add_occupancy(actor=world.actor("staff_a"), resident=world.resident_a, dwelling=world.dwelling_a2,
                        relation="owner", since=dt.date(1998, 6, 1))
    assert (occ.relation, occ.since, occ.place_path) == ("owner", dt.date(1998, 6, 1), world.dwelling_a2.path)
    assert Resident.objects.get(pk=world.resident_a.pk).place_id == world.dwelling_a.pk
    add_occupancy(actor=world.actor("staff_a"), resident=world.resident_a, dwelling=world.dwelling_a2, relation="tenant")
    assert Resident.objects.get(pk=world.resident_a.pk).place_id == world.dwelling_a2.pk
    entries = AuditEntry.objects.filter(action="occupancy.add").order_by("pk")
    assert [e.after["relation"] for e in entries] == ["owner", "tenant"]


def test_given_an_open_occupancy_when_added_again_then_conflict(world):
    before = counts()
    with pytest.raises(Conflict) as exc:
        add_occupancy(actor=SYSTEM, resident=world.resident_a, dwelling=world.dwelling_a, relation="户主")
    assert exc.value.code == "duplicate_occupancy"
    assert counts() == before


def test_given_bad_occupancy_input_when_added_then_fields_are_named(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        add_occupancy(actor=SYSTEM, resident=world.resident_a, dwelling=world.building_a, relation="朋友", since="x")
    assert codes(exc.value) == [("relation", "invalid_choice"), ("dwelling", "wrong_kind"), ("since", "date")]
    retire_place(actor=SYSTEM, place=world.dwelling_a2, reason="拆除")
    with pytest.raises(ValidationFailed) as exc:
        add_occupancy(actor=SYSTEM, resident=world.resident_a, dwelling=world.dwelling_a2, relation="member")
    assert codes(exc.value) == [("dwelling", "inactive")]
    assert counts()["Occupancy"] == before["Occupancy"]


def test_given_a_dwelling_in_another_community_when_occupancy_is_added_then_permission_denied(world):
    with pytest.raises(PermissionDenied):
        add_occupancy(actor=world.actor("staff_a"), resident=world.resident_a, dwelling=world.dwelling_b, relation="owner")
    assert Occupancy.objects.filter(resident=world.resident_a).count() == 1


def test_given_an_open_occupancy_when_ended_twice_then_the_second_is_a_conflict(world):
    occ = Occupancy.objects.get(resident=world.resident_a)
    ended = end_occupancy(actor=world.actor("staff_a"), occupancy=occ, until="2026-10-31")
    assert ended.until == dt.date(2026, 10, 31)
    with pytest.raises(Conflict):
        end_occupancy(actor=world.actor("staff_a"), occupancy=occ, until="2026-11-01")
    assert Occupancy.objects.get(pk=occ.pk).until == dt.date(2026, 10, 31)
    assert AuditEntry.objects.filter(action="occupancy.end").count() == 1


def test_given_an_end_before_the_start_when_ended_then_until_is_named(world):
    occ = add_occupancy(actor=SYSTEM, resident=world.resident_a, dwelling=world.dwelling_a2, relation="owner",
                        since="2020-01-01")
    with pytest.raises(ValidationFailed) as exc:
        end_occupancy(actor=SYSTEM, occupancy=occ, until="2019-12-31")
    assert codes(exc.value) == [("until", "before_since")]
    assert Occupancy.objects.get(pk=occ.pk).until is None


# ---------------------------------------------------------------- tags

def test_given_tags_when_set_then_new_ones_start_dropped_ones_end_and_grades_change(world):
    r = world.resident_a
    set_tags(actor=world.actor("grid_a"), resident=r, tags=["elderly_alone", "disabled:1", "low_income"])
    set_tags(actor=world.actor("grid_a"), resident=r, tags=["elderly_alone", "残疾人:2"])
    assert open_tags(r) == [("disabled", 2), ("elderly_alone", None)]
    ended = ResidentTag.objects.get(resident=r, tag__code="low_income")
    assert ended.until == ended.since
    entries = AuditEntry.objects.filter(action="resident.tags").order_by("pk")
    assert [(e.before, e.after) for e in entries] == [
        ({"tags": ["elderly_alone"]}, {"tags": ["disabled:1", "elderly_alone", "low_income"]}),
        ({"tags": ["disabled:1", "elderly_alone", "low_income"]}, {"tags": ["disabled:2", "elderly_alone"]}),
    ]


def test_given_the_same_tags_when_set_then_nothing_is_written(world):
    before = counts()
    set_tags(actor=SYSTEM, resident=world.resident_a, tags=["独居老人"])
    assert counts() == before


@pytest.mark.parametrize(
    "tags, expected",
    [(["veteran:1"], [("tags", "grade")]), (["disabled:5"], [("tags", "grade")]), (["disabled:重度"], [("tags", "grade")]),
     (["nope"], [("tags", "unknown_tag")]), (["disabled:1", "disabled:3"], [("tags", "duplicate")])],
)
def test_given_bad_tags_when_set_then_tags_is_named_and_nothing_changes(world, tags, expected):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        set_tags(actor=SYSTEM, resident=world.resident_a, tags=tags)
    assert codes(exc.value) == expected
    assert counts() == before and open_tags(world.resident_a) == [("elderly_alone", None)]


def test_given_a_property_staff_member_when_setting_tags_then_permission_denied(world):
    with pytest.raises(PermissionDenied):
        set_tags(actor=world.actor("property_a"), resident=world.resident_a, tags=[])
    assert open_tags(world.resident_a) == [("elderly_alone", None)]


# ---------------------------------------------------------------- emergency contacts

def test_given_an_elderly_resident_when_a_contact_is_added_then_the_phone_is_encrypted_masked_and_linked(world):
    contact = add_emergency_contact(actor=world.actor("grid_a"), resident=world.resident_a, name="王小明",
                                    phone="13900139000", relation="儿子")
    contact = EmergencyContact.objects.get(pk=contact.pk)
    assert (contact.phone, contact.phone_mask, contact.relation, contact.priority) == (
        "13900139000", "139****9000", "儿子", 1)
    # 13900139000 is resident_b's phone, but resident_b lives in community B: staff of A get no link to them.
    assert contact.contact_resident is None
    entry = AuditEntry.objects.get(action="resident.emergency_contact.add")
    assert entry.after == {"name": "王小明", "phone": "139****9000", "relation": "儿子"}


def test_given_a_contact_phone_of_a_resident_in_scope_when_added_then_the_contact_links_to_them(world):
    neighbour = register_resident(actor=SYSTEM, place=world.dwelling_a2, name="赵刚", phone="13700137000",
                                  id_number=random_id_number(birth="19700202", seq=4))
    contact = add_emergency_contact(actor=world.actor("street_admin"), resident=world.resident_a, name="赵刚",
                                    phone="137-0013-7000", priority=2)
    assert contact.contact_resident == neighbour and contact.priority == 2


def test_given_bad_contact_input_when_added_then_fields_are_named_and_nothing_written(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        add_emergency_contact(actor=SYSTEM, resident=world.resident_a, name="", phone="", priority=0)
    assert codes(exc.value) == [("name", "required"), ("phone", "required"), ("priority", "out_of_range")]
    with pytest.raises(ValidationFailed) as exc:
        add_emergency_contact(actor=SYSTEM, resident=world.resident_a, name="王小明", phone="110")
    assert codes(exc.value) == [("phone", "format")]
    with pytest.raises(PermissionDenied):
        add_emergency_contact(actor=world.actor("staff_b"), resident=world.resident_a, name="王小明", phone="13900139000")
    assert counts() == before


def test_given_a_contact_when_removed_twice_then_the_second_is_not_found(world):
    contact = add_emergency_contact(actor=SYSTEM, resident=world.resident_a, name="王小明", phone="13900139001")
    remove_emergency_contact(actor=world.actor("staff_a"), contact=contact)
    assert not EmergencyContact.objects.exists()
    with pytest.raises(NotFound):
        remove_emergency_contact(actor=world.actor("staff_a"), contact=contact)
    assert AuditEntry.objects.filter(action="resident.emergency_contact.remove").count() == 1


# ---------------------------------------------------------------- reveal_sensitive

def test_given_a_grid_worker_when_revealing_an_id_number_then_the_full_value_and_an_audit_entry(world):
    value = reveal_sensitive(actor=world.actor("grid_a"), resident=world.resident_a, field="id_number",
                             reason="上门核实低保材料")
    assert value == "421202195003150027"
    entry = AuditEntry.objects.get(action="resident.reveal.id_number")
    assert entry.actor == world.users["grid_a"] and entry.target_id == str(world.resident_a.pk)
    assert entry.after == {"field": "id_number", "reason": "上门核实低保材料"}
    assert entry.place_path == world.dwelling_a.path
    assert reveal_sensitive(actor=world.actor("staff_a"), resident=world.resident_a, field="phone") == "13800138000"


@pytest.mark.parametrize("persona", ["property_a", "committee_a", "resident_a", "staff_b", "sysadmin", "nobody"])
def test_given_a_role_without_reveal_rights_when_revealing_then_permission_denied_and_nothing_audited(world, persona):
    before = counts()
    with pytest.raises(PermissionDenied):
        reveal_sensitive(actor=world.actor(persona), resident=world.resident_a, field="phone")
    assert counts() == before


def test_given_a_field_that_is_not_sensitive_when_revealing_then_field_is_named(world):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        reveal_sensitive(actor=world.actor("staff_a"), resident=world.resident_a, field="id_hash")
    assert codes(exc.value) == [("field", "invalid_choice")]
    assert counts() == before
