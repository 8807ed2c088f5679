from django.urls import path

from commissioning.statements import views

urlpatterns = [
    path("commissioning/contracts/<int:pk>/statements/", views.contract_statements, name="contract_statements"),
    path(
        "commissioning/contracts/<int:pk>/statements/new/",
        views.contract_statement_create,
        name="contract_statement_create",
    ),
    path("commissioning/statements/<int:pk>/", views.statement_detail, name="statement_detail"),
    path("commissioning/statements/<int:pk>/print/", views.statement_print, name="statement_print"),
    path("commissioning/statements/<int:pk>/statement.csv", views.statement_csv, name="statement_csv"),
]
