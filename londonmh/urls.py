from django.contrib import admin
from django.urls import include, path, re_path

from londonmh import api_urls, views

handler400 = "londonmh.views.error_400"
handler403 = "londonmh.views.error_403"
handler404 = "londonmh.views.error_404"
handler500 = "londonmh.views.error_500"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accessibility/", views.accessibility, name="accessibility"),
    re_path(r"^assets/(?P<path>.+)$", views.nhsuk_asset, name="nhsuk_asset"),
    path("", include("stakeholders.urls")),
    path("", include("outcomes.urls")),
    # Before actionplan.urls, whose plans/<slug>/ would take plans/duplicates/.
    path("", include("actionplan.duplicates.urls")),
    path("", include("actionplan.urls")),
    path("", include("commissioning.urls")),
    path("", include("opendata.urls")),
    path("", include("commissioning.schedules.urls")),
    path("", include("commissioning.queries.urls")),
    path("", include("commissioning.decisions.urls")),
    path("", include("commissioning.statements.urls")),
    path("", include("commissioning.narrative.urls")),
    path("", include("actionplan.voice.urls")),
    path("", include("actionplan.commitments.urls")),
    path("", include("actionplan.consultations.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls)),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    # A portal page around Swagger UI, whose start-up script is a file: our CSP allows no inline script.
    path("api/docs/", views.ApiDocsView.as_view(url_name="schema"), name="swagger-ui"),
]
