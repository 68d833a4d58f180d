from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("kpis/", views.kpi_page, name="kpis"),
    path("kpis.xlsx", views.kpi_export, name="kpi_export"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/rate/", views.ticket_rate, name="rate"),
    path("<int:pk>/<str:action>/", views.ticket_step, name="step"),
]
