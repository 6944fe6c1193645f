"""REST API routes. The document endpoints arrive with the API issue; the browsable API login is here
so session auth works from day one."""

from django.urls import include, path

urlpatterns = [
    path("auth/", include("rest_framework.urls")),
]
