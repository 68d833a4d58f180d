import pytest

from linli.devices.tests.helpers import register


@pytest.fixture
def camera(world):
    """An AI camera on estate A."""
    return register(world.estate_a, kind="ai_camera", serial="CAM-A", name="北门摄像头").device


@pytest.fixture
def camera_b(world):
    return register(world.estate_b, kind="ai_camera", serial="CAM-B", name="桂花摄像头").device


@pytest.fixture
def desk(world):
    """The organisations that handle tickets (from the tickets tests)."""
    from linli.tickets.tests.conftest import desk as build

    return build.__wrapped__(world)
