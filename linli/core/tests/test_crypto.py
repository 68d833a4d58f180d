import pytest
from django.db import connection

from linli.core import crypto


def test_ciphertext_round_trips_and_never_repeats():
    a, b = crypto.encrypt("420102199001011234"), crypto.encrypt("420102199001011234")
    assert a != b and "420102" not in a
    assert crypto.decrypt(a) == "420102199001011234"


def test_lookup_hash_is_stable_and_separates_kinds():
    assert crypto.lookup_hash("id", "x") == crypto.lookup_hash("id", "x")
    assert crypto.lookup_hash("id", "x") != crypto.lookup_hash("phone", "x")


@pytest.mark.django_db
def test_given_a_resident_when_stored_then_the_database_holds_no_plaintext(world):
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone FROM people_resident WHERE id = %s", [world.resident_a.pk])
        raw_id, raw_phone = cur.fetchone()
    assert raw_id.startswith("v1:") and "421202195003150027" not in raw_id
    assert raw_phone.startswith("v1:") and "13800138000" not in raw_phone
    world.resident_a.refresh_from_db()
    assert world.resident_a.id_number == "421202195003150027"
    assert world.resident_a.id_mask == "421202********0027"


def test_rotation_old_key_still_decrypts(settings):
    old = crypto.encrypt("13800138000")
    ring = crypto.keyring()
    new_key = "k2:" + crypto._b64(b"\x01" * 32)
    old_entry = f"{ring.primary}:{crypto._b64(ring.keys[ring.primary])}"
    settings.LINLI_FIELD_KEYS = f"{new_key},{old_entry}"
    settings.LINLI_LOOKUP_KEY = crypto._b64(ring.lookup_key)
    crypto.keyring.cache_clear()
    crypto._aead.cache_clear()
    try:
        assert crypto.decrypt(old) == "13800138000"
        fresh = crypto.encrypt("13800138000")
        assert fresh.split(":")[1] == "k2" and crypto.needs_rotation(old)
    finally:
        crypto.keyring.cache_clear()
        crypto._aead.cache_clear()
