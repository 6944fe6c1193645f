"""One NSU sequence per CNPJ: organizations holding a certificate of the same CNPJ (a company and its
accountant) share one cursor per (CNPJ, service, ambiente), against the simulator that enforces the
one-sequence rule (NT 2014.002 §3.11.4)."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from core.certificados import cadastrar_certificado, excluir_certificado
from core.geracao.documentos import gerar_cte_simplificado, gerar_gtve
from core.models import ConsultaSEFAZ, CursorDistribuicao, ImportLog, NFe
from core.sefaz.cursores import organizacoes_do_documento
from core.sefaz.distribuicao import consultar_certificado
from core.tenancy import escopo
from tests.sefaz.test_distribuicao import DESTINATARIO, SENHA, notas, passar


def certificado_de(organizacao, a1_destinatario, **opcoes):
    pfx = a1_destinatario.pfx(SENHA.encode())
    opcoes = {"uf": "PR", "servicos": ["nfe"], "consulta_automatica": True, **opcoes}
    return cadastrar_certificado(organizacao, pfx, SENHA, **opcoes)


@pytest.fixture
def empresa(org, a1_destinatario):
    return certificado_de(org, a1_destinatario)


@pytest.fixture
def contador(outra_org, a1_destinatario):
    return certificado_de(outra_org, a1_destinatario)


def chaves(organizacao):
    return set(escopo(NFe, organizacao).values_list("chave", flat=True))


@pytest.mark.django_db
def test_each_document_is_fetched_once_and_stored_in_both_organizations(sim, org, outra_org, empresa, contador,
                                                                        emissor):  # fmt: skip
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)

    [servico] = consultar_certificado(empresa, origem="agendada").servicos
    [do_contador] = consultar_certificado(contador, origem="agendada").servicos  # the hour is the CNPJ's

    assert (servico.documentos, servico.importados) == (3, 3)
    assert chaves(org) == chaves(outra_org) == {n.chave for n in documentos}
    assert set(escopo(NFe, outra_org).values_list("nsu", flat=True)) == {1, 2, 3}
    assert do_contador.situacao == "aguardando" and do_contador.chamadas == 0
    assert [(c.tipo, c.cstat) for c in sim.chamadas] == [("distNSU", 138)]
    assert CursorDistribuicao.objects.get().ult_nsu == 3
    # The call is in the history of the organization that made it; the other has the import log rows.
    assert escopo(ConsultaSEFAZ, org).count() == 1 and not escopo(ConsultaSEFAZ, outra_org).exists()
    assert escopo(ImportLog, outra_org).filter(origem="sefaz").count() == 3


@pytest.mark.django_db
def test_the_two_organizations_take_turns_on_one_sequence_without_656(sim, org, outra_org, empresa, contador,
                                                                       emissor):  # fmt: skip
    primeiras, depois = notas(emissor, 2), notas(emissor, 2, inicio=10)
    for nota in primeiras:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    consultar_certificado(empresa, origem="agendada")
    for nota in depois:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    passar(sim, org)

    [servico] = consultar_certificado(contador, origem="agendada").servicos

    assert (servico.cstat, servico.documentos) == (138, 2)
    assert chaves(org) == chaves(outra_org) == {n.chave for n in primeiras + depois}
    assert [c.nsu for c in sim.chamadas] == [0, 2] and 656 not in [c.cstat for c in sim.chamadas]


@pytest.mark.django_db
def test_removing_the_certificate_from_one_organization_leaves_the_others_sequence_alone(
    sim, org, outra_org, empresa, contador, emissor
):
    sim.publicar(DESTINATARIO, "nfe", notas(emissor, 1)[0].xml)
    consultar_certificado(empresa, origem="agendada")

    excluir_certificado(empresa)
    nova = notas(emissor, 1, inicio=20)[0]
    sim.publicar(DESTINATARIO, "nfe", nova.xml)
    passar(sim, org)
    [servico] = consultar_certificado(contador, origem="agendada").servicos

    cursor = CursorDistribuicao.objects.get()
    assert (servico.cstat, cursor.ult_nsu, cursor.certificado_id) == (138, 2, contador.pk)
    assert nova.chave in chaves(outra_org) and nova.chave not in chaves(org)  # org no longer holds the CNPJ
    assert organizacoes_do_documento(DESTINATARIO, 1) == [outra_org]
    assert 656 not in [c.cstat for c in sim.chamadas]


@pytest.mark.django_db
def test_the_scheduled_task_runs_the_shared_sequence_once_for_both(sim, org, outra_org, empresa, contador, emissor,
                                                                   capsys):  # fmt: skip
    for nota in notas(emissor, 2):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)

    call_command("run_scheduled_tasks", "--task=consultas_sefaz")

    assert len(sim.chamadas) == 1
    assert escopo(NFe, org).count() == escopo(NFe, outra_org).count() == 2
    assert "1 certificado(s) consultado(s)" in capsys.readouterr().out  # the other one had nothing due


@pytest.mark.django_db
def test_the_ciencia_one_organization_asks_for_brings_the_full_nfe_to_both(sim, org, outra_org, empresa,
                                                                           a1_destinatario, emissor):  # fmt: skip
    from core.models.sefaz import Manifestacao

    # given: the company does not manifest automatically, its accountant does
    contador = certificado_de(outra_org, a1_destinatario, ciencia_automatica=True)
    nota = notas(emissor, 1)[0]
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)

    # when: the company's certificate runs the shared sequence and brings the summary to both
    consultar_certificado(empresa, origem="agendada")

    # then: the accountant's ciência is sent with its own certificate, and the next run completes both
    assert not escopo(Manifestacao, org).exists()
    ciencia = escopo(Manifestacao, outra_org).get()
    assert (ciencia.chave, ciencia.situacao, ciencia.certificado_id) == (nota.chave, "registrada", contador.pk)
    assert [e.chave for e in sim.eventos_registrados] == [nota.chave]
    passar(sim, org)
    consultar_certificado(empresa, origem="agendada")
    assert escopo(NFe, org).get().completa and escopo(NFe, outra_org).get().completa


@pytest.mark.django_db
def test_a_homologacao_certificate_never_queries_when_homologacao_is_refused(sim, org, a1_destinatario, settings):
    from core.sefaz.problemas import CertificadoComProblema

    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    certificado = certificado_de(org, a1_destinatario, ambiente=2)
    settings.FISCAL_ACEITAR_HOMOLOGACAO = False  # switched off afterwards

    with pytest.raises(CertificadoComProblema, match="FISCAL_ACEITAR_HOMOLOGACAO=true"):
        consultar_certificado(certificado, origem="agendada")
    assert sim.chamadas == [] and not CursorDistribuicao.objects.exists()  # no NSU consumed for nothing


@pytest.mark.django_db
def test_gtve_and_cte_simplificado_are_delivered_and_the_capture_moves_on(sim, org, a1_destinatario, transportadora):
    certificado = certificado_de(org, a1_destinatario, servicos=["cte"])
    gtve = gerar_gtve(certificado=transportadora, remetente_documento=DESTINATARIO)
    simplificado = gerar_cte_simplificado(certificado=transportadora, tomador_documento=DESTINATARIO, tipo_cte="6")
    sim.publicar(DESTINATARIO, "cte", gtve.xml)
    sim.publicar(DESTINATARIO, "cte", simplificado.xml)

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert (servico.cstat, servico.documentos, servico.situacao) == (138, 2, "concluida")
    assert CursorDistribuicao.objects.get(servico="cte").ult_nsu == 2
    logs = escopo(ImportLog, org).filter(origem="sefaz").order_by("nsu")
    assert [log.nsu for log in logs] == [1, 2]  # one attempt recorded per NSU, whatever its outcome


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_organizations_running_at_once_never_run_the_sequence_twice(sim, org, outra_org, empresa, contador,
                                                                         emissor):  # fmt: skip
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: duas threads gravando ao mesmo tempo (o SQLite em memória trava a tabela)")
    for nota in notas(emissor, 2):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    sim.falhar_proximas(1, "lenta", segundos=1.0)
    resultados, largada = [], threading.Barrier(2)

    def rodar(certificado):
        try:
            largada.wait()
            resultados.append(consultar_certificado(certificado, origem="agendada").servicos[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=rodar, args=(c,)) for c in (empresa, contador)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.situacao for r in resultados) == ["concluida", "em_andamento"]
    assert len(sim.chamadas) == 1 and CursorDistribuicao.objects.count() == 1
    assert escopo(NFe, org).count() == escopo(NFe, outra_org).count() == 2
