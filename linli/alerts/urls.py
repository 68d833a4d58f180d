from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("", views.board, name="board"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("<int:pk>/ticket/", views.alert_ticket, name="ticket"),
    path("<int:pk>/<str:step>/", views.alert_step, name="step"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_new, name="rule_new"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/enable/", views.rule_enable, name="rule_enable"),
    path("care/", views.care_list, name="care"),
    path("care/<int:pk>/threshold/", views.care_threshold, name="care_threshold"),
]
