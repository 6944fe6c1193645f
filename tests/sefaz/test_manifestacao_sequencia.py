"""A second conclusive manifestation (nSeqEvento 2, NT 2020.001 v1.50) against the TLS simulator, and what
is refused here before SEFAZ would refuse it: a third one, a second ciência, a ciência after a conclusive
one, anything past the 180-day deadline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.models import NFe
from core.models.sefaz import Manifestacao
from core.sefaz.distribuicao import consultar_certificado
from core.tenancy import escopo
from tests.sefaz.test_distribuicao import DESTINATARIO, SENHA, notas

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificado(org, a1_destinatario):
    return cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])


@pytest.fixture
def chave(sim, certificado, emissor):
    nota = notas(emissor, 1)[0]
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)
    consultar_certificado(certificado, origem="agendada", servicos=["nfe"])
    return nota.chave


def manifestar(api, chave, tipo, **corpo):
    return api.post(f"/api/nfes/{chave}/manifestar/", {"tipo": tipo, **corpo}, format="json")


def test_a_second_conclusive_manifestation_goes_with_nseqevento_2_and_counts(api, sim, org, chave):
    # given: confirmed, then unknown (each its first)
    assert manifestar(api, chave, "confirmacao").json()["resultados"][0]["sequencia"] == 1
    manifestar(api, chave, "desconhecimento")

    # when: confirmed again
    [resultado] = manifestar(api, chave, "confirmacao").json()["resultados"]

    # then: SEFAZ registered nSeqEvento 2 and the second confirmação is the state that counts
    assert (resultado["registrada"], resultado["cstat"], resultado["sequencia"]) == (True, 135, 2)
    assert [(e.tipo_evento, e.sequencia) for e in sim.eventos_registrados] == [("210200", 1), ("210220", 1), ("210200", 2)]
    nfe = escopo(NFe, org).get()
    assert (nfe.manifestacao, nfe.manifestacao_protocolo) == ("confirmacao", resultado["protocolo"])
    detalhe = api.get(f"/api/nfes/{chave}/").json()["manifestacao"]
    assert [(h["tipo"], h["sequencia"]) for h in detalhe["historico"]] == [
        ("confirmacao", 1), ("desconhecimento", 1), ("confirmacao", 2),
    ]
    registrada = escopo(Manifestacao, org).get(tipo="confirmacao")
    assert (registrada.situacao, registrada.protocolo, registrada.historico.count()) == ("registrada", resultado["protocolo"], 2)


def test_a_third_one_of_the_same_type_is_refused_here(api, sim, chave):
    manifestar(api, chave, "confirmacao")
    manifestar(api, chave, "confirmacao")
    chamadas = len(sim.chamadas)

    terceira = manifestar(api, chave, "confirmacao")

    assert terceira.status_code == 400 and "2 vezes" in terceira.json()["detalhes"]["tipo"][0]
    assert len(sim.chamadas) == chamadas


def test_a_ciencia_is_sent_once_and_never_after_a_conclusive_one(api, sim, chave):
    assert manifestar(api, chave, "ciencia").json()["resultados"][0]["registrada"] is True
    segunda = manifestar(api, chave, "ciencia")
    assert segunda.status_code == 400 and "uma vez" in segunda.json()["detalhes"]["tipo"][0]

    manifestar(api, chave, "nao_realizada", justificativa="mercadoria devolvida na portaria")
    depois = manifestar(api, chave, "ciencia")
    assert depois.status_code == 400 and "655" in depois.json()["detalhes"]["tipo"][0]
    assert [e.tipo_evento for e in sim.eventos_registrados] == ["210210", "210240"]


def test_past_the_deadline_it_is_refused_here_with_the_date(api, sim, org, chave):
    escopo(NFe, org).update(prazo_manifestacao=timezone.now() - timedelta(minutes=1))
    chamadas = len(sim.chamadas)

    resposta = manifestar(api, chave, "confirmacao")

    assert resposta.status_code == 400
    [mensagem] = resposta.json()["detalhes"]["chaves"]
    assert "prazo de manifestação" in mensagem and "180 dias" in mensagem and "596" in mensagem
    assert len(sim.chamadas) == chamadas
