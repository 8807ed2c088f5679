from django.urls import path

from actionplan.consultations import views

P = "plans/<slug:slug>/consultations/"
C = P + "<int:consultation_id>/"

urlpatterns = [
    path(P, views.consultation_list, name="consultation_list"),
    path(P + "new/", views.consultation_create, name="consultation_create"),
    path(C, views.consultation_detail, name="consultation_detail"),
    path(C + "edit/", views.consultation_edit, name="consultation_edit"),
    path(C + "open/", views.consultation_open, name="consultation_open"),
    path(C + "answer/", views.consultation_answer, name="consultation_answer"),
    path(C + "export.csv", views.consultation_export, name="consultation_export"),
    path(C + "questions/new/", views.question_create, name="consultation_question_create"),
    path(C + "questions/<int:question_id>/", views.question_edit, name="consultation_question_edit"),
    path(C + "questions/<int:question_id>/move/", views.question_move, name="consultation_question_move"),
    path(C + "questions/<int:question_id>/delete/", views.question_delete, name="consultation_question_delete"),
    path("moderation/consultation-answers/", views.moderation, name="consultation_moderation"),
    path(
        "moderation/consultation-answers/<int:answer_id>/", views.moderate_answer, name="consultation_moderate_answer"
    ),
    path("plans/<slug:slug>/you-said-we-did/checks/<int:check_id>/", views.change_check, name="change_check"),
    path("plans/<slug:slug>/voice-impact/", views.voice_impact, name="plan_voice_impact"),
]
