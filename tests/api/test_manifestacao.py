"""The manifestation state and deadline in the NF-e API, and the filters for NF-e pending manifestation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.models import Origem

pytestmark = pytest.mark.django_db

SENHA = "senha-do-a1"


@pytest.fixture
def certificado(org, a1_destinatario):
    return cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])


def importar(org, *documentos):
    for documento in documentos:
        [resultado] = importar_bytes(organizacao=org, nome="d.xml", conteudo=documento.xml, origem=Origem.SEFAZ)
        assert resultado.ok, resultado.mensagem


def emitida_ha(emissor, dias, numero, destinatario="61585865000151"):
    return gerar_nfe(certificado=emissor, numero=numero, destinatario_documento=destinatario,
                     data_emissao=timezone.now() - timedelta(days=dias))  # fmt: skip


@pytest.fixture
def notas(org, certificado, emissor, a1_destinatario):
    """Numbers: 1 pending (5 days left), 2 pending (60 days left), 3 confirmed, 4 past the deadline,
    5 addressed to someone else, 6 a summary (pending: SEFAZ sends summaries only to the recipient)."""
    documentos = {
        1: emitida_ha(emissor, 175, 1), 2: emitida_ha(emissor, 120, 2), 3: emitida_ha(emissor, 175, 3),
        4: emitida_ha(emissor, 181, 4), 5: emitida_ha(emissor, 175, 5, destinatario="19131243000197"),
    }  # fmt: skip
    resumo = gerar_resumo_nfe(nfe=emitida_ha(emissor, 178, 6))
    confirmacao = gerar_evento_nfe(certificado=a1_destinatario, chave=documentos[3].chave, tipo_evento="210200")
    importar(org, *documentos.values(), resumo, confirmacao)
    return {**documentos, 6: resumo}


def numeros(api, **filtros):
    resposta = api.get("/api/nfes/", filtros)
    assert resposta.status_code == 200, resposta.json()
    return sorted(n["numero"] for n in resposta.json()["results"])


def test_the_list_and_the_detail_show_the_state_and_the_deadline(api, notas):
    por_numero = {n["numero"]: n["manifestacao"] for n in api.get("/api/nfes/").json()["results"]}

    assert por_numero[1]["situacao"] == "nenhuma" and por_numero[1]["dias_restantes"] in (4, 5)
    assert por_numero[1]["prazo"] and por_numero[1]["data"] is None
    confirmada = por_numero[3]
    assert (confirmada["situacao"], confirmada["nome"]) == ("confirmacao", "Confirmação da operação")
    assert confirmada["protocolo"] and confirmada["data"]
    assert por_numero[4]["dias_restantes"] < 0

    detalhe = api.get(f"/api/nfes/{notas[3].chave}/").json()["manifestacao"]
    assert detalhe["situacao"] == "confirmacao"
    [historico] = detalhe["historico"]
    assert (historico["tipo"], historico["tipo_evento"], historico["sequencia"], historico["registrada"]) == (
        "confirmacao", "210200", 1, True,
    )
    assert historico["protocolo"] == confirmada["protocolo"]


def test_pending_means_addressed_to_us_without_a_conclusive_manifestation_and_in_time(api, notas):
    assert numeros(api, manifestacao="pendente") == [1, 2, 6]
    assert numeros(api, manifestacao="pendente", manifestacao_vence_em_dias=10) == [1, 6]
    limite = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert numeros(api, manifestacao="pendente", prazo_manifestacao_ate=limite) == [1, 6]
    assert numeros(api, manifestacao="confirmacao") == [3]
    assert numeros(api, manifestacao="nenhuma") == [1, 2, 4, 5, 6]


def test_bad_filter_values_answer_400_naming_the_field(api, notas):
    for filtros, campo in (({"manifestacao": "talvez"}, "manifestacao"),
                           ({"manifestacao_vence_em_dias": "-1"}, "manifestacao_vence_em_dias"),
                           ({"prazo_manifestacao_ate": "amanhã"}, "prazo_manifestacao_ate")):  # fmt: skip
        resposta = api.get("/api/nfes/", filtros)
        assert resposta.status_code == 400 and campo in resposta.json()["detalhes"], resposta.json()


def test_another_organization_sees_none_of_it(api_outra, notas):
    assert numeros(api_outra, manifestacao="pendente") == []
