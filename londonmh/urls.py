from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from londonmh import api_urls, views

handler400 = "londonmh.views.error_400"
handler403 = "londonmh.views.error_403"
handler404 = "londonmh.views.error_404"
handler500 = "londonmh.views.error_500"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    re_path(r"^assets/(?P<path>.+)$", views.nhsuk_asset, name="nhsuk_asset"),
    path("", include("stakeholders.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]
