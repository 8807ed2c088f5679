from django.urls import path

from commissioning.queries import views

urlpatterns = [
    path("data/queries/", views.value_query_list, name="value_query_list"),
    path("data/queries/<int:pk>/", views.value_query_detail, name="value_query_detail"),
    path("data/scorecards/", views.scorecards, name="scorecards"),
]
