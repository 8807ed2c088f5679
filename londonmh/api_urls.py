"""Every /api/v1/ route. Each app registers its viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from stakeholders import api as stakeholders_api

router = DefaultRouter()
router.register("areas", stakeholders_api.AreaViewSet, basename="area")
router.register("boroughs", stakeholders_api.BoroughViewSet, basename="borough")
router.register("organisations", stakeholders_api.OrganisationViewSet, basename="organisation")
router.register("memberships", stakeholders_api.MembershipViewSet, basename="membership")

urlpatterns = [
    path("me/", stakeholders_api.me, name="me"),
    *router.urls,
]
