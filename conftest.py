import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests create many users; a slow password hash would dominate the suite's run time."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def world(db):
    from linli.core.testing import make_world

    return make_world()
