"""REST API routes (/api/...)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.views.documentos import CTeViewSet, NFeViewSet

roteador = DefaultRouter(trailing_slash=True)
roteador.register("nfes", NFeViewSet, basename="nfe")
roteador.register("ctes", CTeViewSet, basename="cte")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[]), name="docs"),
    path("auth/", include("rest_framework.urls")),
    path("", include(roteador.urls)),
]
