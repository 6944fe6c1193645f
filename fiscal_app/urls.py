from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import include, path, reverse

from core.login import FormularioDeLogin
from core.saude import saude

admin.site.site_header = "fiscal"
admin.site.site_title = "fiscal"
admin.site.index_title = "Documentos fiscais"
admin.site.login_form = FormularioDeLogin  # failed logins throttled per account and IP
# No public site beside the admin and the API: no "Ver o site" link (it led to a 404 at "/").
admin.site.site_url = None


def inicio(request):
    """"/": the admin is the product's only page, so a signed-in staff member goes to its index and
    anyone else to its login, which comes back to the index."""
    if request.user.is_active and request.user.is_staff:
        return redirect("admin:index")
    return redirect_to_login(reverse("admin:index"), login_url=reverse("admin:login"))


urlpatterns = [
    path("", inicio, name="inicio"),
    path("saude/", saude, name="saude"),  # load balancers' health check: outside /api/, see core/saude.py
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]

handler404 = "api.erros.nao_encontrado"
handler500 = "api.erros.erro_interno"
