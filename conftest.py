import pytest
from django.test import override_settings


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests create many users; a slow password hash would dominate the suite's run time."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (zh-hans): a request made in English by an earlier test leaves
    English active in this thread, which would make labels depend on the order tests run in."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def world(db):
    from linli.core.testing import make_world

    return make_world()


@pytest.fixture
def as_user(world):
    """``as_user("staff_a")``: an API client authenticated with a fresh bearer token of that persona."""
    from django.test import Client

    from linli.core.testing import make_token

    def client(name: str) -> Client:
        return Client(headers={"Authorization": f"Bearer {make_token(world.users[name])}"})
    return client
