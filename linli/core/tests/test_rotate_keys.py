import pytest
from django.db import connection

from linli.core import crypto
from linli.core.management.commands.rotate_keys import rotate


@pytest.mark.django_db
def test_given_a_new_primary_key_when_rotating_then_every_value_is_reencrypted_and_still_reads(world, settings):
    ring = crypto.keyring()
    old_entry = f"{ring.primary}:{crypto._b64(ring.keys[ring.primary])}"
    new_key = crypto._b64(bytes([7]) * 32)
    settings.LINLI_FIELD_KEYS = f"k9:{new_key},{old_entry}"
    settings.LINLI_LOOKUP_KEY = crypto._b64(ring.lookup_key)
    crypto.keyring.cache_clear()
    crypto._aead.cache_clear()
    try:
        counts = rotate()
        assert counts["people.resident.id_number"] == 2
        assert counts["people.resident.phone"] == 2
        with connection.cursor() as cur:
            cur.execute("SELECT id_number FROM people_resident")
            assert all(raw.startswith("v1:k9:") for (raw,) in cur.fetchall())
        world.resident_a.refresh_from_db()
        assert world.resident_a.id_number == "421202195003150027"
        assert rotate()["people.resident.id_number"] == 0  # nothing left to do
    finally:
        crypto.keyring.cache_clear()
        crypto._aead.cache_clear()
