from django.urls import include, path

from outcomes import views

urlpatterns = [
    path("indicators/", views.indicator_list, name="indicator_list"),
    path("indicators/new/", views.indicator_create, name="indicator_create"),
    path("indicators/<slug:code>/", views.indicator_detail, name="indicator_detail"),
    path("indicators/<slug:code>/edit/", views.indicator_edit, name="indicator_edit"),
    path("data/", views.data_hub, name="data_hub"),
    path("data/form/", views.data_form, name="data_form"),
    path("data/upload/", views.data_upload, name="data_upload"),
    path("data/template.csv", views.data_template, name="data_template"),
    path("data/submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
    path("data/submissions/<int:pk>/submit/", views.submission_submit_trial, name="submission_submit_trial"),
    path("data/submissions/<int:pk>/progress/", views.submission_progress, name="submission_progress"),
    path("data/values/", views.value_list, name="value_list"),
    path("data/review/", views.review_queue, name="review_queue"),
    path("data/populations/", views.populations, name="populations"),
    path("dashboards/", views.dashboard_overview, name="dashboard_overview"),
    path("dashboards/indicators/<slug:code>/", views.dashboard_indicator, name="dashboard_indicator"),
    path("dashboards/areas/<str:code>/", views.dashboard_area, name="dashboard_area"),
    path("", include("outcomes.inequalities.urls")),
    path("", include("outcomes.public_health.urls")),
]
