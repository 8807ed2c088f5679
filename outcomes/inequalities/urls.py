from django.urls import path

from outcomes.inequalities import views

urlpatterns = [
    path(
        "dashboards/indicators/<slug:code>/inequalities/",
        views.inequalities,
        name="dashboard_inequalities",
    ),
]
