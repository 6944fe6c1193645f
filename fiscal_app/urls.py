from django.contrib import admin
from django.urls import include, path

from core.login import FormularioDeLogin
from core.saude import saude

admin.site.site_header = "fiscal"
admin.site.site_title = "fiscal"
admin.site.index_title = "Documentos fiscais"
admin.site.login_form = FormularioDeLogin  # failed logins throttled per account and IP

urlpatterns = [
    path("saude/", saude, name="saude"),  # load balancers' health check: outside /api/, see core/saude.py
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]

handler404 = "api.erros.nao_encontrado"
handler500 = "api.erros.erro_interno"
