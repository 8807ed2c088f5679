from django.urls import path

from commissioning.narrative import views

urlpatterns = [
    path("stories/", views.story_list, name="story_list"),
    path("stories/feed/", views.story_feed, name="story_feed"),
    path("stories/draft/", views.story_draft_now, name="story_draft_now"),
    path("stories/<int:pk>/", views.story_detail, name="story_detail"),
    path("stories/<int:pk>/print/", views.story_print, name="story_print"),
    path("stories/<int:pk>/edit/", views.story_edit, name="story_edit"),
    path("stories/<int:pk>/publish/", views.story_publish, name="story_publish"),
]
