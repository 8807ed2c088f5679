from django.urls import path

from commissioning.schedules import views

urlpatterns = [
    path("commissioning/schedules/", views.schedule_list, name="schedule_list"),
    path("commissioning/schedules/new/", views.schedule_create, name="schedule_create"),
    path("commissioning/schedules/<int:pk>/", views.schedule_detail, name="schedule_detail"),
    path("commissioning/schedules/<int:pk>/edit/", views.schedule_edit, name="schedule_edit"),
    path("commissioning/schedules/<int:pk>/history/", views.schedule_history, name="schedule_history"),
    path("commissioning/completeness/", views.completeness, name="completeness"),
    path("commissioning/completeness/download/", views.completeness_csv, name="completeness_csv"),
]
