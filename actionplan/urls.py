from django.urls import path

from actionplan import views

urlpatterns = [
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/<slug:slug>/", views.plan_detail, name="plan_detail"),
    path("plans/<slug:slug>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<slug:slug>/status/", views.plan_status, name="plan_status"),
    path("plans/<slug:slug>/history/", views.plan_history, name="plan_history"),
    path("plans/<slug:slug>/people/", views.plan_people, name="plan_people"),
    path("plans/<slug:slug>/people/remove/", views.plan_people_revoke, name="plan_people_revoke"),
    path("plans/<slug:slug>/export.csv", views.plan_export_csv, name="plan_export_csv"),
    path("plans/<slug:slug>/print/", views.plan_print, name="plan_print"),
    path("plans/<slug:slug>/actions/new/", views.action_create, name="action_create"),
    path("plans/<slug:slug>/actions/<int:pk>/", views.action_detail, name="action_detail"),
    path("plans/<slug:slug>/actions/<int:pk>/edit/", views.action_edit, name="action_edit"),
    path("plans/<slug:slug>/actions/<int:pk>/progress/", views.action_progress, name="action_progress"),
    path("plans/<slug:slug>/actions/<int:pk>/delete/", views.action_delete, name="action_delete"),
    path("plans/<slug:slug>/actions/<int:pk>/history/", views.action_history, name="action_history"),
    path(
        "plans/<slug:slug>/actions/<int:pk>/indicators/<int:indicator>/target/",
        views.action_target,
        name="action_target",
    ),
    path("plans/<slug:slug>/actions/<int:pk>/milestones/", views.milestone_create, name="milestone_create"),
    path(
        "plans/<slug:slug>/actions/<int:pk>/milestones/<int:milestone_pk>/",
        views.milestone_edit,
        name="milestone_edit",
    ),
    path("my-work/", views.my_work, name="my_work"),
    path("key-steps/", views.key_step_list, name="keystep_list"),
    path("key-steps/<int:number>/", views.key_step_detail, name="keystep_detail"),
    path("evidence/", views.evidence_list, name="evidence_list"),
    path("evidence/new/", views.evidence_create, name="evidence_create"),
    path("evidence/<slug:slug>/", views.evidence_detail, name="evidence_detail"),
    path("evidence/<slug:slug>/edit/", views.evidence_edit, name="evidence_edit"),
]
