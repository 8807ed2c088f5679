from django.urls import path

from actionplan.commitments import views

P = "plans/<slug:slug>/"

urlpatterns = [
    path(P + "commitments/", views.plan_commitments, name="plan_commitments"),
    path(P + "commitments/record/", views.plan_commitment_record, name="plan_commitment_record"),
    path(P + "commitments/sign/", views.plan_commitments_sign, name="plan_commitments_sign"),
    path(P + "commitments/not-signed/", views.plan_commitments_not_signed, name="plan_commitments_not_signed"),
    path(P + "commitments/ask/", views.plan_commitments_ask, name="plan_commitments_ask"),
    path(P + "commitments/co-sign/", views.plan_commitments_cosign, name="plan_commitments_cosign"),
    path(P + "representatives/", views.plan_representatives, name="plan_representatives"),
    path(P + "actions/<int:pk>/co-owners/", views.action_co_owners, name="action_co_owners"),
    path("organisations/<slug:slug>/commitments/", views.organisation_commitments, name="organisation_commitments"),
]
