"""Query parameters are strict: a bad `ordering`, `limit`, `offset`, `cursor` or filter value answers 400
naming the parameter, never a silently ignored or capped value. Unknown parameters are left alone."""

import django_filters
import pytest
from django_filters.rest_framework import DjangoFilterBackend

from api.filtros import BooleanoFilter, DataFilter, DocumentoFilter
from api.views.documentos import CTeViewSet, EventoPendenteViewSet, NFeViewSet, OutroDocumentoViewSet
from api.views.importacao import ImportacoesView
from api.views.sefaz import ConsultasView, ManifestacoesView
from api.views.webhooks import WebhookLogsView
from core.geracao.documentos import gerar_nfe
from core.models import Webhook
from core.tenancy import inserir
from core.webhooks.assinatura import gerar_segredo

pytestmark = pytest.mark.django_db

LISTAS = {
    "/api/nfes/": NFeViewSet,
    "/api/ctes/": CTeViewSet,
    "/api/outros-documentos/": OutroDocumentoViewSet,
    "/api/eventos-pendentes/": EventoPendenteViewSet,
    "/api/importacoes/": ImportacoesView,
    "/api/consultas/": ConsultasView,
    "/api/manifestacoes/": ManifestacoesView,
    "/api/webhooks/{webhook}/logs/": WebhookLogsView,
}
COM_OFFSET = [c for c in LISTAS if c != "/api/eventos-pendentes/"]  # cursor pages only there
ORDENAVEIS = ["/api/nfes/", "/api/ctes/", "/api/outros-documentos/", "/api/nfes/totais/", "/api/nfes/exportar/"]


def _valor_invalido(filtro) -> str | None:
    """A value the filter must refuse; None for free-text filters (any text is a valid search)."""
    if isinstance(filtro, DataFilter):
        return "ontem"
    if isinstance(filtro, DocumentoFilter):
        return "123"
    if isinstance(filtro, BooleanoFilter):
        return "talvez"
    if isinstance(filtro, (django_filters.ChoiceFilter, django_filters.MultipleChoiceFilter)):
        return "nao-existe"
    if isinstance(filtro, django_filters.NumberFilter):
        return "dez"
    assert type(filtro) is django_filters.CharFilter, f"{filtro!r}: which value is invalid for it?"
    return None


FILTROS_INVALIDOS = [
    (caminho, nome, valor)
    for caminho, vista in LISTAS.items()
    if DjangoFilterBackend in vista.filter_backends
    for nome, filtro in vista.filterset_class.base_filters.items()
    if (valor := _valor_invalido(filtro)) is not None
]


@pytest.fixture
def api_com_webhook(api, org):
    [webhook] = inserir(Webhook, org, [Webhook(organizacao=org, nome="ERP", url="https://erp.example.com/h", segredo=gerar_segredo())])
    api.webhook = webhook.pk
    return api


def _pedir(api, caminho, parametros):
    return api.get(caminho.format(webhook=getattr(api, "webhook", 0)), parametros)


def _confere_400(resposta, parametro):
    assert resposta.status_code == 400, resposta.content
    corpo = resposta.json()
    assert corpo["erro"] == "Parâmetros inválidos."
    assert list(corpo["detalhes"]) == [parametro]
    return corpo["detalhes"][parametro]


def test_every_filter_is_checked():
    assert len(FILTROS_INVALIDOS) > 50
    assert ("/api/manifestacoes/", "tipo", "nao-existe") in FILTROS_INVALIDOS


@pytest.mark.parametrize("caminho, nome, valor", FILTROS_INVALIDOS)
def test_a_bad_filter_value_answers_400_naming_it(api_com_webhook, caminho, nome, valor):
    _confere_400(_pedir(api_com_webhook, caminho, {nome: valor}), nome)


@pytest.mark.parametrize("caminho", list(LISTAS))
@pytest.mark.parametrize(
    "limite, mensagem",
    [
        ("1000", "1000 está fora do intervalo aceito (de 1 a 500)."),
        ("501", "501 está fora do intervalo aceito (de 1 a 500)."),
        ("0", "0 está fora do intervalo aceito (de 1 a 500)."),
        ("-5", "-5 está fora do intervalo aceito (de 1 a 500)."),
        ("dez", "'dez' não é um número inteiro."),
        ("2.5", "'2.5' não é um número inteiro."),
    ],
)
def test_a_bad_limit_answers_400(api_com_webhook, caminho, limite, mensagem):
    assert _confere_400(_pedir(api_com_webhook, caminho, {"limit": limite}), "limit") == [mensagem]
    if caminho in COM_OFFSET:
        assert _confere_400(_pedir(api_com_webhook, caminho, {"limit": limite, "offset": "0"}), "limit") == [mensagem]


@pytest.mark.parametrize("caminho", COM_OFFSET)
@pytest.mark.parametrize(
    "deslocamento, mensagem",
    [("-1", "-1 está fora do intervalo aceito (a partir de 0)."), ("primeira", "'primeira' não é um número inteiro.")],
)
def test_a_bad_offset_answers_400(api_com_webhook, caminho, deslocamento, mensagem):
    assert _confere_400(_pedir(api_com_webhook, caminho, {"offset": deslocamento}), "offset") == [mensagem]


@pytest.mark.parametrize("caminho", list(LISTAS))
def test_a_bad_cursor_answers_400(api_com_webhook, caminho):
    _confere_400(_pedir(api_com_webhook, caminho, {"cursor": "nao-e-um-cursor"}), "cursor")


def test_limits_in_range_still_page(api, org, emissor, importar_docs):
    importar_docs(org, *[gerar_nfe(certificado=emissor, numero=n) for n in range(1, 4)])
    assert len(api.get("/api/nfes/", {"limit": "500"}).json()["results"]) == 3
    assert len(api.get("/api/nfes/", {"limit": "1"}).json()["results"]) == 1
    assert api.get("/api/nfes/", {"limit": "", "offset": ""}).status_code == 200  # empty is absent
    pagina = api.get("/api/nfes/", {"limit": "2", "offset": "2"}).json()
    assert pagina["count"] == 3 and len(pagina["results"]) == 1


@pytest.mark.parametrize("caminho", ORDENAVEIS)
def test_an_unknown_ordering_answers_400_naming_it(api, caminho):
    [mensagem] = _confere_400(api.get(caminho, {"ordering": "numero,-emitente_nome"}), "ordering")
    assert mensagem.startswith("'-emitente_nome' não é uma ordenação aceita; use data_emissao, ")


def test_every_accepted_ordering_sorts(api, org, emissor, importar_docs):
    importar_docs(org, *[gerar_nfe(certificado=emissor, numero=n) for n in (3, 1, 2)])
    for ordenacao in ("numero", "-numero", "data_emissao", "-valor_total", "prazo_manifestacao", "numero,"):
        assert api.get("/api/nfes/", {"ordering": ordenacao}).status_code == 200, ordenacao
    assert [d["numero"] for d in api.get("/api/nfes/", {"ordering": "numero"}).json()["results"]] == [1, 2, 3]


def test_unknown_parameters_are_left_alone(api):
    assert api.get("/api/nfes/", {"utm_source": "planilha", "pagina": "3"}).status_code == 200


@pytest.mark.parametrize(
    "caminho, parametros, nome",
    [
        ("/api/integracoes/tipos-de-evento/", {"documento": "nf-e"}, "documento"),
        ("/api/eventos/", {"limit": "1000"}, "limit"),
        ("/api/eventos/", {"tipo": "nfe_sumiu"}, "tipo"),
        ("/api/buscar/", {"q": "acme", "limite": "dez"}, "limite"),
        ("/api/estatisticas/", {"agrupar": "ano"}, "agrupar"),
        ("/api/webhooks/estatisticas/", {"desde": "ontem"}, "desde"),
    ],
)
def test_the_other_views_parameters_are_strict_too(api, caminho, parametros, nome):
    _confere_400(api.get(caminho, parametros), nome)


def test_event_types_still_filter_by_document(api):
    tipos = api.get("/api/integracoes/tipos-de-evento/", {"documento": "cte"}).json()["tipos_de_evento"]
    assert tipos and {t["documento"] for t in tipos} == {"cte"}
    assert len(api.get("/api/integracoes/tipos-de-evento/", {"documento": ""}).json()["tipos_de_evento"]) > len(tipos)
