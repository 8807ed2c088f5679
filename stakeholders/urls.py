from django.contrib.auth import views as auth_views
from django.urls import path

from stakeholders import views

urlpatterns = [
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/<slug:slug>/", views.organisation_detail, name="organisation_detail"),
    path("organisations/<slug:slug>/edit/", views.organisation_edit, name="organisation_edit"),
    path("organisations/<slug:slug>/members/", views.organisation_members, name="organisation_members"),
    path("organisations/<slug:slug>/members/<int:pk>/", views.membership_edit, name="membership_edit"),
    path(
        "organisations/<slug:slug>/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("areas/", views.area_list, name="area_list"),
    path("areas/<str:code>/", views.area_detail, name="area_detail"),
    # Accounts
    path("account/sign-in/", views.SignInView.as_view(), name="login"),
    path("account/sign-out/", views.sign_out_confirm, name="sign_out"),
    path("account/sign-out/confirm/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/sign-up/", views.sign_up, name="sign_up"),
    path("privacy/", views.policy_page, {"slug": "privacy"}, name="privacy"),
    path("terms/", views.policy_page, {"slug": "terms"}, name="terms"),
    path("community-guidelines/", views.policy_page, {"slug": "community-guidelines"}, name="community_guidelines"),
    path("account/confirm-email/resend/", views.email_verify_resend, name="email_verify_resend"),
    path("account/confirm-email/<str:token>/", views.email_verify, name="email_verify"),
    path("account/profile/", views.profile, name="profile"),
    path("account/tokens/", views.api_token_create, name="api_token_create"),
    path("account/tokens/<str:key>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("account/password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("account/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "account/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("account/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "account/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("account/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
