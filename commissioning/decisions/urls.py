from django.urls import path

from commissioning.decisions import views

P = "commissioning/partnerships/<slug:slug>/"

urlpatterns = [
    path(P + "decisions/", views.decision_list, name="decision_list"),
    path(P + "decisions/new/", views.decision_create, name="decision_create"),
    path(P + "decisions/<int:decision_id>/", views.decision_detail, name="decision_detail"),
    path(P + "decisions/<int:decision_id>/outcome/", views.decision_outcome, name="decision_outcome"),
    path(P + "meetings/new/", views.meeting_create, name="meeting_create"),
    path(P + "meetings/<int:meeting_id>/", views.meeting_detail, name="meeting_detail"),
    path(P + "meetings/<int:meeting_id>/edit/", views.meeting_edit, name="meeting_edit"),
]
