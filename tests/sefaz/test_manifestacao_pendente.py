"""A failed automatic ciência is tried again by every later run until SEFAZ registers it, each try recorded,
and the pending ones are listed by the API (GET /api/manifestacoes/?situacao=pendente)."""

import pytest

from core.certificados import cadastrar_certificado
from core.models import NFe
from core.models.sefaz import Manifestacao
from core.sefaz.distribuicao import consultar_certificado
from core.tenancy import escopo
from tests.sefaz.test_distribuicao import DESTINATARIO, SENHA, notas, passar

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificado(org, a1_destinatario):
    pfx = a1_destinatario.pfx(SENHA.encode())
    return cadastrar_certificado(org, pfx, SENHA, uf="PR", servicos=["nfe"], consulta_automatica=True,
                                 ciencia_automatica=True)  # fmt: skip


@pytest.fixture
def resumo(sim, emissor):
    nota = notas(emissor, 1)[0]
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)
    return nota


def manifestacao(org):
    return escopo(Manifestacao, org).get(tipo="ciencia")


@pytest.mark.parametrize(("modo", "erro"), [("http_503", "HTTP 503"), ("cstat_999", "999")])
def test_a_failed_ciencia_is_retried_by_the_next_run_until_registered(sim, org, certificado, resumo, api, modo, erro):
    # given: the event service fails once
    sim.falhar_proximas(1, modo, servico="evento")

    # when: the run that brought the summary tries the ciência
    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    # then: it stays pending, with the try recorded, and the API lists it
    assert servico.ciencias == 0
    pendente = manifestacao(org)
    assert (pendente.situacao, pendente.tentativas, pendente.origem) == ("pendente", 1, "automatica")
    assert erro in (pendente.erro or str(pendente.cstat))
    corpo = api.get("/api/manifestacoes/", {"situacao": "pendente"}).json()
    [listada] = corpo["resultados"] if "resultados" in corpo else corpo["results"]
    assert (listada["chave"], listada["tipo"], listada["tentativas"]) == (resumo.chave, "ciencia", 1)
    [tentativa] = listada["historico"]
    assert erro in (tentativa["erro"] or str(tentativa["cstat"]))

    # when: the next run (an hour later, as SEFAZ allows)
    passar(sim, org)
    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    # then: registered on this try; the full NF-e comes with the run after it
    registrada = manifestacao(org)
    assert (registrada.situacao, registrada.tentativas, registrada.cstat) == ("registrada", 2, 135)
    assert [h.cstat for h in registrada.historico.all()][-1] == 135
    assert servico.ciencias == 1 and [e.chave for e in sim.eventos_registrados] == [resumo.chave]
    corpo = api.get("/api/manifestacoes/", {"situacao": "pendente"}).json()
    assert (corpo.get("resultados") or corpo.get("results")) == []
    passar(sim, org)
    consultar_certificado(certificado, origem="agendada")
    assert escopo(NFe, org).get().completa is True


def test_a_ciencia_whose_answer_was_lost_is_registered_by_its_duplicate(sim, org, certificado, resumo, settings):
    """SEFAZ registered it but the answer timed out: the retry gets 573 (duplicate), which means registered."""
    settings.SEFAZ_TIMEOUT_SEGUNDOS = 0.5
    sim.falhar_proximas(1, "responder_tarde", segundos=1.5, servico="evento")

    consultar_certificado(certificado, origem="agendada")

    assert manifestacao(org).situacao == "pendente" and "não respondeu" in manifestacao(org).erro
    passar(sim, org)
    consultar_certificado(certificado, origem="agendada")
    registrada = manifestacao(org)
    assert (registrada.situacao, registrada.cstat, registrada.tentativas) == ("registrada", 573, 2)
    assert len(sim.eventos_registrados) == 1


def test_a_rejected_ciencia_stays_pending_and_is_retried_every_run(sim, org, certificado, resumo, a1_destinatario):
    # The event service answers 575 when the author is not the destinatário: a person must act, and until
    # then each run tries again (and records it).
    from core.models import CertificadoDigital

    consultar_certificado(certificado, origem="agendada")  # registered: 135
    desconhecida = resumo.chave[:-1] + ("1" if resumo.chave[-1] == "0" else "0")
    escopo(Manifestacao, org).update(situacao="pendente", chave=desconhecida)  # SEFAZ knows no such NF-e: 580

    for _ in range(2):
        passar(sim, org)
        consultar_certificado(escopo(CertificadoDigital, org).get(), origem="agendada")

    pendente = manifestacao(org)
    assert (pendente.situacao, pendente.cstat, pendente.tentativas) == ("pendente", 580, 3)
    assert [h.cstat for h in pendente.historico.all()] == [135, 580, 580]


def test_a_ciencia_still_pending_after_the_180_day_deadline_is_given_up(sim, org, certificado, resumo):
    from datetime import timedelta

    from django.utils import timezone

    sim.falhar_proximas(1, "http_503", servico="evento")
    consultar_certificado(certificado, origem="agendada")
    escopo(Manifestacao, org).update(criada_em=timezone.now() - timedelta(days=181))
    passar(sim, org)

    consultar_certificado(certificado, origem="agendada")

    desistida = manifestacao(org)
    assert (desistida.situacao, desistida.tentativas) == ("falhou", 1) and "180 dias" in desistida.erro
    assert sim.eventos_registrados == []
