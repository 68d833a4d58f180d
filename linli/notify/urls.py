from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:item_id>/read/", views.read, name="read"),
]
