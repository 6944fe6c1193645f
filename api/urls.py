"""REST API routes (/api/...)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.erros import rota_inexistente
from api.views.busca import BuscaView
from api.views.certificados import CertificadoViewSet
from api.views.documentos import CTeViewSet, EventoPendenteViewSet, NFeViewSet, OutroDocumentoViewSet
from api.views.estatisticas import EstatisticasView
from api.views.eventos import CatalogoDeEventosView, EventosView, TiposDeEventoView
from api.views.importacao import ImportacaoXMLView, ImportacoesView, ImportarView, ReprocessarView
from api.views.notificacoes import PreferenciasView
from api.views.painel import PainelView
from api.views.sefaz import ConsultasView, ManifestacoesView, ManifestarLoteView
from api.views.tokens import TokenViewSet
from api.views.webhooks import DispararEventoView, TestarUrlView, WebhookLogsView, WebhookViewSet

roteador = DefaultRouter(trailing_slash=True)
# No `.json`/`.api` twins of every route: the views' actions take no `format` argument, so those paths
# answered 500, and JSON is the only format anyway. Such a path now falls to `rota_inexistente` (404).
roteador.include_format_suffixes = False
roteador.register("nfes", NFeViewSet, basename="nfe")
roteador.register("ctes", CTeViewSet, basename="cte")
roteador.register("outros-documentos", OutroDocumentoViewSet, basename="outro-documento")
roteador.register("eventos-pendentes", EventoPendenteViewSet, basename="evento-pendente")
roteador.register("webhooks", WebhookViewSet, basename="webhook")
roteador.register("certificados", CertificadoViewSet, basename="certificado")
roteador.register("tokens", TokenViewSet, basename="token")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[]), name="docs"),
    path("auth/", include("rest_framework.urls")),
    path("importar/", ImportarView.as_view(), name="importar"),
    path("importacoes/", ImportacoesView.as_view(), name="importacoes"),
    path("importacoes/<int:pk>/xml/", ImportacaoXMLView.as_view(), name="importacao-xml"),
    path("importacoes/<int:pk>/reprocessar/", ReprocessarView.as_view(), name="importacao-reprocessar"),
    path("dashboard/", PainelView.as_view(), name="dashboard"),
    path("estatisticas/", EstatisticasView.as_view(), name="estatisticas"),
    path("buscar/", BuscaView.as_view(), name="buscar"),
    path("eventos/", EventosView.as_view(), name="eventos"),
    path("integracoes/eventos/", CatalogoDeEventosView.as_view(), name="catalogo-eventos"),
    path("integracoes/tipos-de-evento/", TiposDeEventoView.as_view(), name="tipos-de-evento"),
    path("integracoes/disparar/", DispararEventoView.as_view(), name="disparar-evento"),
    path("integracoes/testar/", TestarUrlView.as_view(), name="testar-url"),
    path("webhooks/<int:pk>/logs/", WebhookLogsView.as_view(), name="webhook-logs"),
    path("notificacoes/preferencias/", PreferenciasView.as_view(), name="preferencias-notificacao"),
    path("consultas/", ConsultasView.as_view(), name="consultas"),
    path("nfes/manifestar/", ManifestarLoteView.as_view(), name="nfe-manifestar-lote"),
    path("manifestacoes/", ManifestacoesView.as_view(), name="manifestacoes"),
    path("", include(roteador.urls)),
    # Last: any other /api/ path is a 404 in the API's JSON shape, also with DEBUG=true (whose technical
    # 404 page would otherwise replace handler404).
    re_path(r"^(?P<caminho>.*)$", rota_inexistente, name="rota-inexistente"),
]
