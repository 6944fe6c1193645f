"""The manifestation state that counts, derived from signed manifestation events imported in any order
(NT 2020.001 v1.50: the last conclusive one registered counts; the ciência only while there is none)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.documentos.importacao import importar_bytes
from core.documentos.manifestacao_estado import recalcular_manifestacoes
from core.geracao.documentos import gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.models import Evento, NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

INICIO = timezone.now() - timedelta(days=2)


@pytest.fixture
def nota(emissor, a1_destinatario):
    return gerar_nfe(certificado=emissor, destinatario_documento=a1_destinatario.documento)


def manifestacao(a1_destinatario, nota, tipo, sequencia=1, horas=0, **opcoes):
    return gerar_evento_nfe(certificado=a1_destinatario, chave=nota.chave, tipo_evento=tipo, sequencia=sequencia,
                            data_evento=INICIO + timedelta(hours=horas), **opcoes)  # fmt: skip


def importar(org, *documentos):
    for documento in documentos:
        [resultado] = importar_bytes(organizacao=org, nome="d.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
        assert resultado.ok, resultado.mensagem


def estado(org):
    nfe = escopo(NFe, org).get()
    return nfe.manifestacao, nfe.manifestacao_protocolo


def protocolo(evento) -> str:
    return evento.xml.split(b"<nProt>")[-1].split(b"</nProt>")[0].decode()


@pytest.mark.parametrize("nfe_primeiro", [True, False], ids=["nfe-antes", "eventos-antes"])
def test_it_keeps_the_last_conclusive_manifestation_in_either_arrival_order(org, a1_destinatario, nota, nfe_primeiro):
    # given: ciência, confirmação, desconhecimento, then a second confirmação (NT 2020.001 v1.50)
    eventos = [
        manifestacao(a1_destinatario, nota, "210210", horas=0),
        manifestacao(a1_destinatario, nota, "210200", horas=1),
        manifestacao(a1_destinatario, nota, "210220", horas=2),
        manifestacao(a1_destinatario, nota, "210200", sequencia=2, horas=3),
    ]

    # when
    importar(org, *([nota, *eventos] if nfe_primeiro else [*reversed(eventos), nota]))

    # then: the second confirmação counts, with its date and protocol
    nfe = escopo(NFe, org).get()
    assert (nfe.manifestacao, nfe.manifestacao_protocolo) == ("confirmacao", protocolo(eventos[3]))
    assert nfe.manifestacao_em == INICIO.replace(microsecond=0) + timedelta(hours=3)


def test_the_ciencia_counts_only_while_there_is_no_conclusive_one(org, a1_destinatario, nota):
    ciencia = manifestacao(a1_destinatario, nota, "210210", horas=5)
    importar(org, nota, ciencia)
    assert estado(org) == ("ciencia", protocolo(ciencia))

    desconhecimento = manifestacao(a1_destinatario, nota, "210220", horas=1)  # earlier than the ciência
    importar(org, desconhecimento)
    assert estado(org) == ("desconhecimento", protocolo(desconhecimento))


def test_a_change_of_state_is_announced_with_the_documents_update(org, a1_destinatario, nota):
    importar(org, nota)
    importar(org, manifestacao(a1_destinatario, nota, "210200"))
    importar(org, manifestacao(a1_destinatario, nota, "210210", horas=-1))  # ciência after it: state unchanged

    atualizacoes = [e.payload["dados"] for e in escopo(Evento, org).filter(tipo="documento_atualizado").order_by("id")]
    assert [a["campos"] for a in atualizacoes] == [["eventos", "manifestacao"], ["eventos"]]
    assert atualizacoes[0]["manifestacao"]["situacao"] == "confirmacao"


def test_a_summary_upgraded_to_the_full_nfe_keeps_its_state(org, a1_destinatario, nota):
    importar(org, gerar_resumo_nfe(nfe=nota), manifestacao(a1_destinatario, nota, "210240",
                                                          detalhes={"xJust": "mercadoria devolvida sem entrada"}))
    importar(org, nota)

    nfe = escopo(NFe, org).get()
    assert (nfe.completa, nfe.manifestacao) == (True, "nao_realizada")
    [importada] = [e.payload["dados"] for e in escopo(Evento, org).filter(tipo="nfe_importada")]
    assert importada["manifestacao"]["situacao"] == "nenhuma"  # announced before its event arrived


def test_recalculating_many_nfe_costs_two_queries(org, emissor, a1_destinatario, django_assert_num_queries):
    notas = [gerar_nfe(certificado=emissor, numero=n, destinatario_documento=a1_destinatario.documento) for n in (1, 2, 3)]
    importar(org, *notas, *(manifestacao(a1_destinatario, n, "210200") for n in notas))
    nfes = list(escopo(NFe, org))
    escopo(NFe, org).update(manifestacao="")
    for nfe in nfes:
        nfe.manifestacao = ""

    with django_assert_num_queries(2):  # the events, then one UPDATE
        mudaram = recalcular_manifestacoes(org, nfes)

    assert len(mudaram) == 3 and set(escopo(NFe, org).values_list("manifestacao", flat=True)) == {"confirmacao"}


@pytest.mark.parametrize("nfe_primeiro", [True, False], ids=["nfe-antes", "evento-antes"])
def test_a_manifestation_signed_by_someone_else_than_the_recipient_changes_nothing(org, a1_destinatario, nota, nfe_primeiro):
    from core.geracao.certificado import gerar_certificado

    # Validly signed by its author and "registered" (cStat 135), but the author is not the NF-e's recipient:
    # it would otherwise silence the recipient's deadline alerts.
    intruso = gerar_certificado(cnpj="45723174000110", nome="INDUSTRIA PAULISTA DE PAPEL SA")
    forjada = gerar_evento_nfe(certificado=intruso, chave=nota.chave, tipo_evento="210200", data_evento=INICIO)
    importar(org, *([nota, forjada] if nfe_primeiro else [forjada, nota]))
    assert estado(org) == ("", "")

    verdadeira = manifestacao(a1_destinatario, nota, "210220", horas=1)
    importar(org, verdadeira)
    assert estado(org) == ("desconhecimento", protocolo(verdadeira))
