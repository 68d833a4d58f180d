from django.urls import path

from . import views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("new/", views.device_new, name="new"),
    path("<int:pk>/", views.device_detail, name="detail"),
    path("<int:pk>/rotate/", views.device_rotate, name="rotate"),
    path("<int:pk>/enable/", views.device_enable, name="enable"),
    path("<int:pk>/retire/", views.device_retire, name="retire"),
    path("import/", views.device_import, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("quarantine/", views.quarantine_list, name="quarantine"),
    path("quarantine/<int:pk>/", views.quarantine_detail, name="quarantine_detail"),
    path("quarantine/<int:pk>/reprocess/", views.quarantine_reprocess, name="quarantine_reprocess"),
    path("passages/", views.passage_list, name="passages"),
    path("events/<int:pk>/media/<int:index>/", views.event_media, name="event_media"),
]
