from django.urls import path

from outcomes.public_health import views

urlpatterns = [
    path("dashboards/areas/<str:code>/profile/", views.area_profile, name="dashboard_area_profile"),
    path("dashboards/indicators/<slug:code>/compare/", views.indicator_compare, name="dashboard_indicator_compare"),
    path("dashboards/indicators/<slug:code>/trend/", views.indicator_trend, name="dashboard_indicator_trend"),
]
