"""Automatic capture from SEFAZ: the real client (zeep over mutual TLS) against the local simulator.

Every test talks to `core.sefaz.simulador.Simulador` over real TLS with a real A1 certificate; the
simulator applies SEFAZ's rules (137/138/656/589/593) on its own clock, which the tests move forward
together with the database's waits (`passar`).
"""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.geracao.documentos import gerar_evento_nfe, gerar_nfe
from core.models import CertificadoDigital, ConsultaSEFAZ, CursorDistribuicao, Evento, EventoDocumento, NFe, Situacao
from core.sefaz import cursores, respostas
from core.sefaz.cliente import ClienteSEFAZ
from core.sefaz.distribuicao import consultar_certificado
from core.sefaz.problemas import CertificadoComProblema, ConsultaNaoPermitida
from core.tenancy import escopo

DESTINATARIO = "61585865000151"
SENHA = "senha-do-a1"


@pytest.fixture
def certificado(org, a1_destinatario):
    pfx = a1_destinatario.pfx(SENHA.encode())
    return cadastrar_certificado(org, pfx, SENHA, uf="PR", servicos=["nfe"], consulta_automatica=True)


def notas(emissor, quantidade, inicio=1):
    return [gerar_nfe(certificado=emissor, numero=n, destinatario_documento=DESTINATARIO) for n in range(inicio, inicio + quantidade)]


def passar(sim, org, minutos=61):
    """Time goes by for SEFAZ and for us alike."""
    sim.avancar(minutos=minutos)
    atraso = timedelta(minutes=minutos)
    for cursor in CursorDistribuicao.objects.all():  # shared by CNPJ: every organization's time passes
        for campo in ("proxima_consulta_em", "bloqueado_ate", "ultima_consulta_em", "chamada_em_andamento_em"):
            valor = getattr(cursor, campo)
            setattr(cursor, campo, valor and valor - atraso)
        cursor.save()


def cursor_de(org):
    return CursorDistribuicao.objects.get(servico="nfe")


@pytest.mark.django_db
def test_it_pages_over_several_answers_and_waits_an_hour_at_the_end(sim, org, certificado, emissor):
    sim.lote = 2
    documentos = notas(emissor, 5)
    for nota in documentos:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)

    execucao = consultar_certificado(certificado, origem="agendada")

    [servico] = execucao.servicos
    assert (servico.situacao, servico.chamadas, servico.documentos, servico.importados) == ("concluida", 3, 5, 5)
    assert set(escopo(NFe, org).values_list("chave", flat=True)) == {n.chave for n in documentos}
    assert set(escopo(NFe, org).values_list("nsu", flat=True)) == {1, 2, 3, 4, 5}
    cursor = cursor_de(org)
    assert (cursor.ult_nsu, cursor.max_nsu, cursor.lacunas) == (5, 5, [])
    espera = cursor.proxima_consulta_em - timezone.now()
    assert timedelta(minutes=60) < espera <= timedelta(minutes=61)
    assert [c.ult_nsu for c in escopo(ConsultaSEFAZ, org).order_by("id")] == [2, 4, 5]
    assert [(c.tipo, c.nsu) for c in sim.chamadas] == [("distNSU", 0), ("distNSU", 2), ("distNSU", 4)]


@pytest.mark.django_db
def test_a_short_page_with_more_to_come_keeps_going_from_ult_nsu(sim, org, certificado, emissor):
    sim.pagina_irregular = True
    for nota in notas(emissor, 7):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert servico.documentos == 7 and servico.situacao == "concluida"
    assert escopo(NFe, org).count() == 7
    assert cursor_de(org).ult_nsu == 7 and cursor_de(org).lacunas == []


@pytest.mark.django_db
def test_137_then_an_immediate_second_run_makes_no_call(sim, org, certificado):
    primeira = consultar_certificado(certificado, origem="agendada")
    chamadas = len(sim.chamadas)

    segunda = consultar_certificado(certificado, origem="agendada")

    assert primeira.servicos[0].cstat == 137
    assert len(sim.chamadas) == chamadas  # nothing reached SEFAZ
    assert segunda.servicos[0].situacao == "aguardando" and segunda.servicos[0].chamadas == 0
    with pytest.raises(ConsultaNaoPermitida) as erro:
        consultar_certificado(certificado, origem="api", exigir_permissao=True)
    assert erro.value.permitida_em == cursor_de(org).proxima_consulta_em
    assert not cursores.esta_na_hora(certificado)

    passar(sim, org)
    assert cursores.esta_na_hora(certificado)
    assert consultar_certificado(certificado, origem="agendada").servicos[0].cstat == 137
    assert [c.cstat for c in sim.chamadas] == [137, 137]


@pytest.mark.django_db
def test_656_adopts_sefaz_ult_nsu_blocks_for_65_minutes_and_fills_the_gap(sim, org, certificado, emissor, a1_destinatario):
    """Another application of the same company read NSUs 1-3 first: our next call is out of sequence."""
    from core.certificados import carregar_pfx
    from core.sefaz.cliente import ClienteSEFAZ

    consultar_certificado(certificado, origem="agendada")  # 137: the sequence is ours at NSU 0
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    passar(sim, org)
    with ClienteSEFAZ(carregar_pfx(a1_destinatario.pfx(b"x"), "x"), 1) as outro_sistema:
        assert outro_sistema.distribuicao("nfe", DESTINATARIO, "41", ult_nsu=0).ult_nsu == 3
    sim.publicar(DESTINATARIO, "nfe", notas(emissor, 1, inicio=10)[0].xml)  # NSU 4: more to fetch

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    cursor = cursor_de(org)
    assert servico.cstat == 656 and servico.situacao == "bloqueada"
    assert cursor.ult_nsu == 3 and cursor.lacunas == [1, 2, 3]
    assert timedelta(minutes=64) < cursor.bloqueado_ate - timezone.now() <= timedelta(minutes=65)
    chamadas = len(sim.chamadas)
    assert consultar_certificado(certificado, origem="agendada").servicos[0].chamadas == 0
    assert len(sim.chamadas) == chamadas  # nothing is sent during the block

    passar(sim, org, minutos=66)
    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert servico.documentos == 4  # NSU 4 by distNSU, then 1-3 by consNSU
    assert escopo(NFe, org).count() == 4
    assert cursor_de(org).lacunas == [] and cursor_de(org).ult_nsu == 4
    assert [c.tipo for c in sim.chamadas[chamadas:]] == ["distNSU", "consNSU", "consNSU", "consNSU"]


def _assert_recovers_a_lost_answer(sim, org, certificado, documentos, chamadas_antes=1):
    """After a lost distNSU answer: an hour's wait, one 656 (SEFAZ had moved on), its ultNSU adopted, the block
    waited, and the skipped NSUs fetched with consNSU: every document ends imported."""
    cursor = cursor_de(org)
    assert cursor.chamada_em_andamento_em is not None and cursor.ult_nsu == 0
    # Within the hour nothing is sent: SEFAZ may have answered the last page (a call now is 656).
    assert consultar_certificado(certificado, origem="agendada").servicos[0].situacao == "aguardando"
    assert len(sim.chamadas) == chamadas_antes

    passar(sim, org)  # the hour has passed: the repeat goes out and SEFAZ refuses to go back
    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    cursor = cursor_de(org)
    assert (servico.cstat, servico.situacao) == (656, "bloqueada")
    assert cursor.ult_nsu == len(documentos) and cursor.lacunas == list(range(1, len(documentos) + 1))
    assert cursor.chamada_em_andamento_em is None and not escopo(NFe, org).exists()

    passar(sim, org, minutos=66)
    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert servico.importados == len(documentos)
    assert set(escopo(NFe, org).values_list("chave", flat=True)) == {n.chave for n in documentos}
    assert cursor_de(org).lacunas == []
    assert [c.tipo for c in sim.chamadas[chamadas_antes:]] == ["distNSU", "distNSU", *["consNSU"] * len(documentos)]
    assert [c.cstat for c in sim.chamadas].count(656) == 1


@pytest.mark.django_db
def test_a_crash_between_receiving_and_committing_costs_one_656_and_loses_nothing(sim, org, certificado, emissor,
                                                                                   monkeypatch):  # fmt: skip
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    importar = respostas.importar_documentos

    def cair(*args, **kwargs):
        importar(*args, **kwargs)  # the documents are written... then the process dies before the commit
        raise SystemExit("processo morto")

    monkeypatch.setattr(respostas, "importar_documentos", cair)
    with pytest.raises(SystemExit):
        consultar_certificado(certificado, origem="agendada")
    monkeypatch.setattr(respostas, "importar_documentos", importar)

    _assert_recovers_a_lost_answer(sim, org, certificado, documentos)


@pytest.mark.django_db
@pytest.mark.parametrize("modo", ["perder_resposta", "responder_tarde"])
def test_an_answer_lost_on_the_wire_costs_one_656_and_loses_nothing(sim, org, certificado, emissor, settings, modo):
    """The simulator answers (the sequence moves on) and then drops the connection, or answers too late."""
    settings.SEFAZ_TIMEOUT_SEGUNDOS = 0.5
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    sim.falhar_proximas(1, modo, segundos=1.5)

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert servico.situacao == "erro" and servico.falhas == 1
    assert sim.situacao(DESTINATARIO, "nfe").ult_nsu_retornado == 3  # SEFAZ moved on, we do not know it
    espera = cursor_de(org).proxima_consulta_em - timezone.now()
    assert timedelta(minutes=59) < espera <= timedelta(minutes=61)  # the hour, not the 15-minute backoff
    _assert_recovers_a_lost_answer(sim, org, certificado, documentos)


@pytest.mark.django_db
def test_a_failure_before_sefaz_processed_anything_retries_after_the_short_backoff(sim, org, certificado):
    sim.falhar_proximas(1, "http_503")

    consultar_certificado(certificado, origem="agendada")

    cursor = cursor_de(org)
    assert cursor.chamada_em_andamento_em is None
    assert timedelta(minutes=14) < cursores.permitida_em(cursor) - timezone.now() <= timedelta(minutes=15)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_for_one_cnpj_never_query_together(sim, org, certificado, emissor):
    if connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: duas threads escrevendo ao mesmo tempo (o SQLite em memória dos testes "
                    "trava a tabela); roda no .ci/run")  # fmt: skip
    for nota in notas(emissor, 2):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    sim.falhar_proximas(1, "lenta", segundos=1.0)
    resultados, largada = [], threading.Barrier(2)

    def rodar():
        try:
            largada.wait()
            resultados.append(consultar_certificado(certificado, origem="agendada").servicos[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=rodar) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.situacao for r in resultados) == ["concluida", "em_andamento"]
    assert len(sim.chamadas) == 1
    assert escopo(NFe, org).count() == 2


@pytest.mark.django_db
def test_a_reserved_sequence_is_skipped(sim, org, certificado):
    cursor = cursores.cursor_do_servico(certificado, "nfe", 1)
    CursorDistribuicao.objects.filter(pk=cursor.pk).update(
        reservado_por="outra-execucao", reservado_ate=timezone.now() + timedelta(minutes=5)
    )

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert servico.situacao == "em_andamento" and sim.chamadas == []


@pytest.mark.django_db
def test_593_with_another_companys_certificate_stops_until_a_person_acts(sim, org, certificado, caplog):
    escopo(CertificadoDigital, org).filter(pk=certificado.pk).update(cnpj="11222333000181")  # not this certificate's
    certificado.refresh_from_db()

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    certificado.refresh_from_db()
    assert servico.cstat == 593 and servico.situacao == "problema"
    assert certificado.problema.startswith("593")
    with pytest.raises(CertificadoComProblema):
        consultar_certificado(certificado, origem="agendada")
    assert len(sim.chamadas) == 1
    assert certificado not in list(cursores.cursores_devidos())
    assert SENHA not in caplog.text


@pytest.mark.django_db
def test_an_expired_certificate_is_never_used(sim, org, certificado):
    escopo(CertificadoDigital, org).filter(pk=certificado.pk).update(validade_fim=timezone.now() - timedelta(days=1))
    certificado.refresh_from_db()

    with pytest.raises(CertificadoComProblema, match="venceu"):
        consultar_certificado(certificado, origem="agendada")
    assert sim.chamadas == []


@pytest.mark.django_db
def test_a_certificate_sefaz_does_not_trust_stops_the_capture(sim, org):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    chave = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nome = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ESTRANHA LTDA:{DESTINATARIO}")])
    agora = timezone.now()
    proprio = (
        x509.CertificateBuilder().subject_name(nome).issuer_name(nome).public_key(chave.public_key())
        .serial_number(1).not_valid_before(agora - timedelta(days=1)).not_valid_after(agora + timedelta(days=90))
        .sign(chave, hashes.SHA256())
    )  # fmt: skip
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    pfx = pkcs12.serialize_key_and_certificates(b"a1", chave, proprio, None, BestAvailableEncryption(SENHA.encode()))
    estranho = cadastrar_certificado(org, pfx, SENHA, uf="PR", servicos=["nfe"])

    [servico] = consultar_certificado(estranho, origem="agendada").servicos

    estranho.refresh_from_db()
    assert servico.situacao == "problema"
    assert "recusou o certificado" in estranho.problema
    assert sim.recusas_tls


@pytest.mark.django_db
def test_transient_failures_back_off(sim, org, certificado):
    sim.falhar_proximas(1, "http_503")

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    cursor = cursor_de(org)
    assert servico.situacao == "erro" and cursor.falhas_seguidas == 1
    assert timedelta(minutes=14) < cursor.proxima_consulta_em - timezone.now() <= timedelta(minutes=15)
    assert escopo(ConsultaSEFAZ, org).get().erro
    certificado.refresh_from_db()
    assert certificado.problema == ""


@pytest.mark.django_db
def test_a_summary_is_upgraded_by_the_full_nfe_after_ciencia(sim, org, certificado, emissor, api, settings):
    nota = notas(emissor, 1)[0]
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)
    consultar_certificado(certificado, origem="agendada")
    assert escopo(NFe, org).get().completa is False

    resposta = api.post(f"/api/nfes/{nota.chave}/manifestar/", {"tipo": "ciencia"}, format="json")

    assert resposta.status_code == 200, resposta.json()
    [resultado] = resposta.json()["resultados"]
    assert (resultado["registrada"], resultado["cstat"]) == (True, 135)
    evento = escopo(EventoDocumento, org).get(tipo_evento="210210")
    assert evento.nfe.chave == nota.chave and evento.protocolo == resultado["protocolo"]
    assert [e.chave for e in sim.eventos_registrados] == [nota.chave]

    passar(sim, org)
    consultar_certificado(certificado, origem="agendada")

    documento = escopo(NFe, org).get()
    assert documento.completa is True and documento.arquivo.bytes_originais() == nota.xml


@pytest.mark.django_db
def test_automatic_ciencia_brings_the_full_nfe_in_the_next_run(sim, org, certificado, emissor):
    from core.certificados import atualizar_certificado

    atualizar_certificado(certificado, ciencia_automatica=True)
    nota = notas(emissor, 1)[0]
    sim.publicar_para_destinatario(DESTINATARIO, nota.xml)

    [servico] = consultar_certificado(certificado, origem="agendada").servicos
    assert servico.ciencias == 1

    passar(sim, org)
    consultar_certificado(certificado, origem="agendada")
    assert escopo(NFe, org).get().completa is True


@pytest.mark.django_db
def test_a_cancellation_event_marks_the_document(sim, org, certificado, emissor):
    nota = notas(emissor, 1)[0]
    sim.publicar(DESTINATARIO, "nfe", nota.xml)
    sim.publicar(DESTINATARIO, "nfe", gerar_evento_nfe(certificado=emissor, chave=nota.chave, tipo_evento="110111").xml)

    consultar_certificado(certificado, origem="agendada")

    assert escopo(NFe, org).get().situacao == Situacao.CANCELADA


@pytest.mark.django_db
def test_a_run_emits_consulta_concluida_with_its_numbers(sim, org, certificado, emissor):
    for nota in notas(emissor, 2):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)

    execucao = consultar_certificado(certificado, origem="agendada")

    dados = escopo(Evento, org).get(tipo="consulta_concluida").payload["dados"]
    assert (dados["execucao"], dados["documentos"], dados["importados"]) == (execucao.id, 2, 2)
    assert dados["servicos"][0]["cstat"] == 138 and dados["servicos"][0]["ult_nsu"] == 2
    assert escopo(Evento, org).filter(tipo="nfe_importada").count() == 2


@pytest.mark.django_db
def test_the_client_ignores_requests_ca_bundle_from_the_environment(sim, org, certificado, monkeypatch, tmp_path):
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # an unrelated bundle (requests' trust_env)
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert servico.cstat == 137


@pytest.mark.django_db
def test_a_failed_consnsu_never_shortens_the_hour_distnsu_is_waiting(sim, org, certificado):
    consultar_certificado(certificado, origem="agendada")  # 137: distNSU waits an hour
    espera = cursor_de(org).proxima_consulta_em
    CursorDistribuicao.objects.update(lacunas=[1])
    sim.falhar_proximas(1, "http_503")

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert [(c.tipo, c.falha) for c in sim.chamadas[1:]] == [(None, "http_503")]  # the consNSU, refused
    assert servico.falhas == 1 and cursor_de(org).lacunas == [1]
    assert cursor_de(org).proxima_consulta_em == espera


@pytest.mark.django_db
def test_an_undecodable_doczip_keeps_what_sefaz_sent_with_its_nsu_and_the_cursor_moves_on(sim, org, certificado, emissor):
    from dataclasses import replace

    from core.models import ImportLog

    boa, estragada = notas(emissor, 2)
    sim.publicar(DESTINATARIO, "nfe", boa.xml)
    nsu = sim.publicar(DESTINATARIO, "nfe", estragada.xml)
    fluxo = next(f for f in sim.armazem._fluxos.values() if nsu in f.documentos)
    fluxo.documentos[nsu] = replace(fluxo.documentos[nsu], doc_zip="H4sI-isto-nao-e-base64")  # damaged on the way

    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    assert escopo(NFe, org).get().chave == boa.chave
    # The missing NSU is asked for once more by consNSU (it is a gap); each attempt keeps what SEFAZ sent.
    assert [(c.tipo, c.nsu) for c in sim.chamadas] == [("distNSU", 0), ("consNSU", nsu)]
    falhas = escopo(ImportLog, org).filter(status="erro")
    assert [f.nsu for f in falhas] == [nsu, nsu] and all("docZip ilegível" in f.mensagem for f in falhas)
    assert {f.xml.bytes_originais() for f in falhas} == {b"H4sI-isto-nao-e-base64"}  # reprocessable, never invisible
    assert (cursor_de(org).ult_nsu, cursor_de(org).lacunas) == (nsu, [])


# --- a run whose lease expired ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("em_outra_thread", [False, pytest.param(True, marks=pytest.mark.postgres)])
def test_a_run_whose_lease_expired_never_overwrites_the_run_that_took_the_cursor_over(
    sim, org, certificado, emissor, monkeypatch, caplog, em_outra_thread
):
    if em_outra_thread and connection.vendor != "postgresql":
        pytest.skip("precisa de PostgreSQL: duas conexões escrevendo ao mesmo tempo; roda no .ci/run")
    # given: run A's distNSU call hangs past its lease (10 minutes) and the hour SEFAZ asks after a call
    # that may have been lost; meanwhile run B takes the cursor over and captures the three documents
    documentos = notas(emissor, 3)
    for nota in documentos:
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    distribuicao_original, depois_de_b, vez = ClienteSEFAZ.distribuicao, [], ["A"]

    def rodar_b():
        try:
            depois_de_b.append(consultar_certificado(certificado, origem="agendada").servicos[0])
        finally:
            if em_outra_thread:
                connection.close()

    def chamada_de_a_que_demora(cliente, *args, **kwargs):
        if vez == ["A"]:  # A's first call, on the wire while time passes
            vez[0] = "B"
            passar(sim, org, minutos=61)
            CursorDistribuicao.objects.update(reservado_ate=timezone.now() - timedelta(seconds=1))
            if em_outra_thread:
                outra = threading.Thread(target=rodar_b)
                outra.start()
                outra.join()
            else:
                rodar_b()
            estado_de_b.update(CursorDistribuicao.objects.values(*CAMPOS).get())
        return distribuicao_original(cliente, *args, **kwargs)

    estado_de_b = {}
    CAMPOS = ("ult_nsu", "max_nsu", "lacunas", "bloqueado_ate", "proxima_consulta_em", "ultimo_cstat",
              "ultima_consulta_em", "chamada_em_andamento_em", "falhas_seguidas")  # fmt: skip
    monkeypatch.setattr(ClienteSEFAZ, "distribuicao", chamada_de_a_que_demora)

    # when: A's answer finally arrives
    with caplog.at_level(logging.WARNING, logger="core.sefaz"):
        [a] = consultar_certificado(certificado, origem="agendada").servicos

    # then: B's cursor stands, A stopped at once (no consNSU, no further page) and said why
    [b] = depois_de_b
    assert b.situacao == "concluida" and b.importados == 3 and estado_de_b["ult_nsu"] == 3
    assert CursorDistribuicao.objects.values(*CAMPOS).get() == estado_de_b
    assert a.situacao == "em_andamento" and a.chamadas == 1
    assert len(sim.chamadas) == 2  # B's page, then A's late one; nothing after it
    assert any("reserva" in r.getMessage() and "expirou" in r.getMessage() for r in caplog.records)
    assert escopo(NFe, org).count() == 3


@pytest.mark.django_db
def test_a_run_that_loses_the_sequence_while_filling_gaps_stops_at_once(sim, org, certificado, emissor, monkeypatch):
    # given: three NSUs to fetch one by one, and distNSU waiting its hour
    for nota in notas(emissor, 3):
        sim.publicar(DESTINATARIO, "nfe", nota.xml)
    cursor = cursores.cursor_do_servico(certificado, "nfe", 1)
    CursorDistribuicao.objects.filter(pk=cursor.pk).update(
        ult_nsu=3, max_nsu=3, lacunas=[1, 2, 3], proxima_consulta_em=timezone.now() + timedelta(minutes=30)
    )
    distribuicao_original = ClienteSEFAZ.distribuicao

    def outra_consulta_assume_durante_a_chamada(cliente, *args, **kwargs):
        resposta = distribuicao_original(cliente, *args, **kwargs)
        CursorDistribuicao.objects.update(reservado_por="outra-execucao",
                                          reservado_ate=timezone.now() + timedelta(minutes=10))  # fmt: skip
        return resposta

    monkeypatch.setattr(ClienteSEFAZ, "distribuicao", outra_consulta_assume_durante_a_chamada)

    # when
    [servico] = consultar_certificado(certificado, origem="agendada").servicos

    # then: the answer of the first consNSU is not stored, no other consNSU goes, the new owner keeps its lease
    assert servico.situacao == "em_andamento" and servico.chamadas == 1
    assert [c.tipo for c in sim.chamadas] == ["consNSU"]
    assert escopo(NFe, org).count() == 0
    cursor = cursor_de(org)
    assert (cursor.lacunas, cursor.consultas_avulsas, cursor.reservado_por) == ([1, 2, 3], [], "outra-execucao")
