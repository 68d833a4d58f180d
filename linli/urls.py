from django.contrib import admin
from django.urls import include, path

from linli.api import api
from linli.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/ingest/", include("linli.devices.ingest_urls")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("linli.accounts.urls")),
    path("places/", include("linli.places.urls")),
    path("people/", include("linli.people.urls")),
    path("notifications/", include("linli.notify.urls")),
    path("devices/", include("linli.devices.urls")),
    path("alerts/", include("linli.alerts.urls")),
    path("tickets/", include("linli.tickets.urls")),
    path("open311/v2/", include("linli.tickets.open311.urls")),
    path("", include("linli.core.urls")),
]
