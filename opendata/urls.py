from django.urls import path

from opendata import views

urlpatterns = [
    path("open-data/", views.index, name="opendata_index"),
    path("open-data/contracts.json", views.contracts_package, name="opendata_contracts"),
    path("open-data/contracts/<int:pk>.json", views.contract_ocds, name="contract_ocds"),
    path("open-data/<str:name>", views.package_file, name="opendata_file"),
]
