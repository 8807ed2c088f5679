from django.urls import path

from actionplan.voice import views

urlpatterns = [
    path("plans/<slug:slug>/comments/", views.plan_thread, name="voice_plan_thread"),
    path("plans/<slug:slug>/actions/<int:action_id>/comments/", views.action_thread, name="voice_action_thread"),
    path("plans/<slug:slug>/comments/<int:pk>/reply/", views.comment_reply, name="voice_comment_reply"),
    path("plans/<slug:slug>/comments/<int:pk>/edit/", views.comment_edit, name="voice_comment_edit"),
    path("plans/<slug:slug>/comments/<int:pk>/delete/", views.comment_delete, name="voice_comment_delete"),
    path("plans/<slug:slug>/comments/<int:pk>/flag/", views.comment_flag, name="voice_comment_flag"),
    path("plans/<slug:slug>/comments/<int:pk>/respond/", views.comment_respond, name="voice_comment_respond"),
    path("plans/<slug:slug>/you-said-we-did/", views.you_said_we_did, name="voice_you_said_we_did"),
    path("plans/<slug:slug>/follow/", views.follow, name="voice_follow"),
    path("moderation/", views.moderation_queue, name="voice_moderation_queue"),
    path("moderation/comments/<int:pk>/", views.moderate_comment, name="voice_moderate_comment"),
    path("moderation/people/<int:pk>/", views.suspend_user, name="voice_suspend_user"),
    path("notifications/", views.notifications, name="voice_notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="voice_notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="voice_notifications_read_all"),
    path("notifications/settings/", views.notification_settings, name="voice_notification_settings"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="voice_unsubscribe"),
]
