"""``/open311/v2/``: every endpoint as ``.xml`` and ``.json``."""

from django.urls import re_path

from . import views

FMT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.service_list, name="open311-services"),
    re_path(r"^services/(?P<code>[-\w]{1,40})" + FMT, views.service_definition, name="open311-service"),
    re_path(r"^requests" + FMT, views.requests, name="open311-requests"),
    re_path(r"^requests/(?P<pk>\d{1,18})" + FMT, views.request_detail, name="open311-request"),
    re_path(r"^tokens/(?P<token>[-\d]{1,40})" + FMT, views.token, name="open311-token"),
    re_path(r"^servicerequestupdates" + FMT, views.request_updates, name="open311-updates"),
]
