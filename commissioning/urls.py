from django.urls import path

from commissioning import views

urlpatterns = [
    path("commissioning/", views.overview, name="commissioning_overview"),
    path("commissioning/contracts/", views.contract_register, name="contract_register"),
    path("commissioning/contracts/new/", views.contract_create, name="contract_create"),
    path("commissioning/contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("commissioning/contracts/<int:pk>/edit/", views.contract_edit, name="contract_edit"),
    path("commissioning/contracts/<int:pk>/history/", views.contract_history, name="contract_history"),
    path("commissioning/contracts/<int:pk>/performance/", views.contract_performance, name="contract_performance"),
    path("commissioning/contracts/<int:pk>/measures/new/", views.measure_create, name="measure_create"),
    path("commissioning/contracts/<int:pk>/measures/<int:measure_id>/edit/", views.measure_edit, name="measure_edit"),
    path(
        "commissioning/contracts/<int:pk>/measures/<int:measure_id>/delete/",
        views.measure_delete,
        name="measure_delete",
    ),
    path("commissioning/partnerships/", views.partnership_list, name="partnership_list"),
    path("commissioning/partnerships/new/", views.partnership_create, name="partnership_create"),
    path("commissioning/partnerships/<slug:slug>/", views.partnership_detail, name="partnership_detail"),
    path("commissioning/partnerships/<slug:slug>/edit/", views.partnership_edit, name="partnership_edit"),
]
