"""Helpers for the place tests: a snapshot of row counts to prove that refused input writes nothing."""

from __future__ import annotations

import pytest


def row_counts() -> dict[str, int]:
    from linli.accounts.models import RoleAssignment
    from linli.core.models import AuditEntry
    from linli.people.models import Occupancy, Resident
    from linli.places.models import Facility, Grid, Place, PlaceEvent

    return {m._meta.label_lower: m.objects.count()
            for m in (Place, PlaceEvent, Facility, Grid, Resident, Occupancy, RoleAssignment, AuditEntry)}


@pytest.fixture
def unchanged():
    """``with unchanged(): ...`` asserts that the block leaves every table's row count as it was."""
    from contextlib import contextmanager

    @contextmanager
    def check():
        before = row_counts()
        yield
        assert row_counts() == before

    return check
