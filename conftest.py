import os

import pytest

os.environ.setdefault("LINLI_HUEY_IMMEDIATE", "1")


@pytest.fixture
def world(db):
    from linli.core.testing import make_world

    return make_world()
