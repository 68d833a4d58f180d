"""/api/v1/ingest/: where devices push their payloads (linli.devices.endpoints). Mounted before the API root."""

from django.urls import re_path

from .endpoints import ingest

app_name = "ingest"

SOURCES = r"(?P<source>generic|hikvision|dahua)"

urlpatterns = [
    re_path(rf"^{SOURCES}/?$", ingest, name="push"),
    # The less safe fallback for firmware without Basic authentication: the secret in the path.
    re_path(rf"^{SOURCES}/(?P<device_id>[1-9][0-9]{{0,17}})/(?P<secret>[A-Za-z0-9]{{1,64}})/?$", ingest,
            name="push_with_key"),
]
