from django.urls import path

from . import views, views_manage

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("kpis/", views.kpi_page, name="kpis"),
    path("kpis.xlsx", views.kpi_export, name="kpi_export"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/rate/", views.ticket_rate, name="rate"),
    path("<int:pk>/photos/", views.ticket_photos, name="photos"),
    path("<int:pk>/<str:action>/", views.ticket_step, name="step"),
    # Set-up pages (views_manage): categories, organisations and members, return visits.
    path("manage/", views_manage.manage_home, name="manage"),
    path("manage/categories/", views_manage.category_list, name="manage_categories"),
    path("manage/categories/new/", views_manage.category_new, name="manage_category_new"),
    path("manage/categories/<int:pk>/", views_manage.category_edit, name="manage_category"),
    path("manage/organisations/", views_manage.organisation_list, name="manage_organisations"),
    path("manage/organisations/new/", views_manage.organisation_new, name="manage_organisation_new"),
    path("manage/organisations/<int:pk>/", views_manage.organisation_detail, name="manage_organisation"),
    path("manage/organisations/<int:pk>/members/", views_manage.member_add, name="manage_member_add"),
    path("manage/organisations/<int:pk>/members/<int:member_id>/duty/", views_manage.member_duty,
         name="manage_member_duty"),
    path("manage/organisations/<int:pk>/members/<int:member_id>/remove/", views_manage.member_remove,
         name="manage_member_remove"),
    path("manage/return-visits/", views_manage.visit_list, name="manage_visits"),
    path("manage/return-visits/<int:pk>/", views_manage.visit_detail, name="manage_visit"),
]
