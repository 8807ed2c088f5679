from django.urls import path

from actionplan.duplicates import views

urlpatterns = [
    path("plans/duplicates/", views.duplicate_list, name="duplicate_list"),
    path("plans/duplicates/decided/", views.duplicate_history, name="duplicate_history"),
    path("plans/duplicates/<int:a>-<int:b>/", views.duplicate_pair, name="duplicate_pair"),
    path("plans/duplicates/<int:a>-<int:b>/dismiss/", views.duplicate_dismiss, name="duplicate_dismiss"),
    path("plans/duplicates/<int:a>-<int:b>/merge/", views.duplicate_merge, name="duplicate_merge"),
    path("plans/duplicates/dismissed/<int:pk>/restore/", views.duplicate_undismiss, name="duplicate_undismiss"),
    path("plans/duplicates/merges/<int:pk>/", views.duplicate_merge_detail, name="duplicate_merge_detail"),
    path("plans/duplicates/merges/<int:pk>/split/", views.duplicate_merge_split, name="duplicate_merge_split"),
]
