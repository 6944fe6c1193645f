"""The import pipeline end to end: real signed documents in, rows, logs and signals out."""

import hashlib
from decimal import Decimal

import pytest

from core import signals
from core.documentos.importacao import Entrada, importar, importar_bytes
from core.geracao.documentos import (
    gerar_cte,
    gerar_cte_os,
    gerar_evento_cte,
    gerar_evento_nfe,
    gerar_lote_zip,
    gerar_nfe,
    gerar_resumo_evento,
    gerar_resumo_nfe,
)
from core.models import ArquivoXML, CTe, EventoDocumento, ImportLog, NFe, NFeItem, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db


def importar_um(org, documento, nome="nota.xml", origem=Origem.UPLOAD):
    return importar_bytes(organizacao=org, nome=nome, conteudo=documento.xml, origem=origem)


@pytest.fixture
def sinais():
    """Every domain signal sent, as (signal name, instance, extra kwargs)."""
    recebidos = []

    def receptor(nome):
        def receber(sender, instance, organizacao, **extra):
            extra.pop("signal", None)
            recebidos.append((nome, instance, organizacao, extra))

        return receber

    receptores = {
        nome: receptor(nome)
        for nome in ("nfe_importada", "cte_importado", "documento_atualizado", "import_log")
    }
    for nome, funcao in receptores.items():
        getattr(signals, f"{nome}_signal").connect(funcao)
    yield recebidos
    for nome, funcao in receptores.items():
        getattr(signals, f"{nome}_signal").disconnect(funcao)


def nomes(sinais):
    return [nome for nome, *_ in sinais]


# -- NF-e ------------------------------------------------------------------------------------


def test_it_stores_an_nfe_with_items_xml_and_log(org, emissor, django_capture_on_commit_callbacks, sinais):
    documento = gerar_nfe(certificado=emissor, itens=4, numero=321)

    with django_capture_on_commit_callbacks(execute=True):
        [resultado] = importar_um(org, documento, nome="pasta/321.xml")

    assert resultado.status == "sucesso"
    nfe = escopo(NFe, org).get(chave=documento.chave)
    assert (nfe.modelo, nfe.numero, nfe.situacao, nfe.completa, nfe.assinatura) == ("55", 321, "autorizada", True, "valida")
    assert nfe.emitente_documento == "11222333000181"
    assert nfe.protocolo and nfe.codigo_status == 100 and nfe.data_recebimento is not None
    assert isinstance(nfe.valor_total, Decimal) and nfe.valor_total > 0
    itens = list(escopo(NFeItem, org).filter(nfe=nfe))
    assert [i.numero for i in itens] == [1, 2, 3, 4]
    assert sum(i.valor_total for i in itens) == nfe.valor_produtos
    assert nfe.arquivo.bytes_originais() == documento.xml
    assert nfe.arquivo.sha256 == hashlib.sha256(documento.xml).hexdigest()
    log = escopo(ImportLog, org).get()
    assert (log.arquivo, log.chave, log.status, log.tipo_xml) == ("pasta/321.xml", documento.chave, "sucesso", "nfeProc")
    assert nomes(sinais) == ["nfe_importada"]
    assert sinais[0][1].pk == nfe.pk and sinais[0][2] == org


def test_signals_wait_for_the_commit(org, emissor, django_capture_on_commit_callbacks, sinais):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        importar_um(org, gerar_nfe(certificado=emissor))
    assert sinais == []
    for callback in callbacks:
        callback()
    assert nomes(sinais) == ["nfe_importada"]


def test_importing_the_same_key_again_is_a_duplicate(org, emissor, django_capture_on_commit_callbacks, sinais):
    documento = gerar_nfe(certificado=emissor)
    importar_um(org, documento)

    with django_capture_on_commit_callbacks(execute=True):
        [resultado] = importar_um(org, documento)

    assert resultado.status == "duplicado"
    assert documento.chave in resultado.mensagem
    assert escopo(NFe, org).count() == 1 and escopo(ArquivoXML, org).count() == 1
    assert sinais == []


def test_the_same_key_in_another_organization_is_stored_again(org, outra_org, emissor):
    documento = gerar_nfe(certificado=emissor)
    importar_um(org, documento)

    [resultado] = importar_um(outra_org, documento)

    assert resultado.status == "sucesso"
    assert escopo(NFe, org).count() == escopo(NFe, outra_org).count() == 1


def test_nfce_imports_as_nfe_model_65(org, emissor):
    documento = gerar_nfe(certificado=emissor, modelo="65", serie=2, destinatario=None)
    [resultado] = importar_um(org, documento)
    assert resultado.status == "sucesso", resultado.mensagem
    nfe = escopo(NFe, org).get()
    assert nfe.modelo == "65" and nfe.destinatario_documento == ""


@pytest.mark.parametrize("destinatario, tipo", [("cpf", "cpf"), ("estrangeiro", "estrangeiro"), ("cnpj", "cnpj")])
def test_it_keeps_the_kind_of_recipient(org, emissor, destinatario, tipo):
    importar_um(org, gerar_nfe(certificado=emissor, destinatario=destinatario))
    nfe = escopo(NFe, org).get()
    assert nfe.destinatario_tipo_documento == tipo and nfe.destinatario_documento


def test_alphanumeric_cnpj_emitter(org, outro_certificado):
    # Signed by the alphanumeric CNPJ's own certificate (its base must be the emitter's).
    documento = gerar_nfe(certificado=outro_certificado, emitente_cnpj="12ABC34501DE35")
    [resultado] = importar_um(org, documento)
    assert resultado.status == "sucesso", resultado.mensagem
    assert escopo(NFe, org).get().emitente_documento == "12ABC34501DE35"


def test_many_items(org, emissor):
    [resultado] = importar_um(org, gerar_nfe(certificado=emissor, itens=120))
    assert resultado.status == "sucesso"
    assert escopo(NFeItem, org).count() == 120


def test_a_denied_nfe_is_kept_as_denegada(org, emissor):
    importar_um(org, gerar_nfe(certificado=emissor, codigo_status=302))
    assert escopo(NFe, org).get().situacao == "denegada"


def test_a_bare_nfe_is_sem_protocolo_until_its_nfeproc_arrives(org, emissor, django_capture_on_commit_callbacks, sinais):
    rng_numero = 77
    sem = gerar_nfe(certificado=emissor, numero=rng_numero, com_protocolo=False)
    importar_um(org, sem)
    assert escopo(NFe, org).get().situacao == "sem_protocolo"


# -- summaries and upgrades ------------------------------------------------------------------


def test_a_summary_then_the_full_xml_upgrades_the_same_row(org, emissor, django_capture_on_commit_callbacks, sinais):
    completo = gerar_nfe(certificado=emissor)
    resumo = gerar_resumo_nfe(nfe=completo)  # the summary SEFAZ makes of this very NF-e
    with django_capture_on_commit_callbacks(execute=True):
        [r1] = importar_um(org, resumo)
    nfe = escopo(NFe, org).get()
    assert (r1.status, nfe.situacao, nfe.completa, nfe.assinatura) == ("sucesso", "resumo", False, "ausente")

    with django_capture_on_commit_callbacks(execute=True):
        [r2] = importar_um(org, completo)

    nfe.refresh_from_db()
    assert r2.status == "sucesso" and "XML completo" in r2.mensagem
    assert (nfe.situacao, nfe.completa, nfe.assinatura) == ("autorizada", True, "valida")
    assert nfe.arquivo.bytes_originais() == completo.xml
    assert escopo(NFe, org).count() == 1 and escopo(NFeItem, org).filter(nfe=nfe).count() == 3
    assert nomes(sinais) == ["nfe_importada", "documento_atualizado"]
    assert sinais[1][3]["motivo"] == "xml_completo"


def test_the_full_xml_then_its_summary_is_a_duplicate(org, emissor):
    completo = gerar_nfe(certificado=emissor)
    importar_um(org, completo)
    resumo = gerar_resumo_nfe(nfe=completo)  # the summary SEFAZ makes of this very NF-e
    [resultado] = importar_um(org, resumo)
    assert resultado.status == "duplicado"
    assert escopo(NFe, org).get().completa


def test_summary_and_full_xml_in_one_zip_make_one_row(org, emissor, sinais, django_capture_on_commit_callbacks):
    completo = gerar_nfe(certificado=emissor)
    resumo = gerar_resumo_nfe(nfe=completo)  # the summary SEFAZ makes of this very NF-e
    lote = gerar_lote_zip([resumo, completo], nome_arquivo=lambda d: f"{len(d.xml)}.xml")
    with django_capture_on_commit_callbacks(execute=True):
        resultados = importar_bytes(organizacao=org, nome="lote.zip", conteudo=lote, origem=Origem.UPLOAD)
    assert [r.status for r in resultados] == ["sucesso", "sucesso"]
    assert escopo(NFe, org).get().completa
    assert nomes(sinais) == ["nfe_importada"]


def test_a_cancelled_summary_marks_the_nfe_cancelada(org, emissor):
    completo = gerar_nfe(certificado=emissor)
    importar_um(org, completo)
    resumo = gerar_resumo_nfe(nfe=completo, situacao=3)
    # An unsigned summary is believed when SEFAZ's distribution delivered it (tests/documentos/test_registro_confiavel.py).
    [resultado] = importar_um(org, resumo, origem=Origem.SEFAZ)
    assert resultado.status == "sucesso"
    assert escopo(NFe, org).get().situacao == "cancelada"


# -- events ----------------------------------------------------------------------------------


def cancelamento(emissor, chave):
    return gerar_evento_nfe(
        certificado=emissor, chave=chave, tipo_evento="110111",
        detalhes={"nProt": "135260000000001", "xJust": "Erro na digitacao do pedido"},
    )


def test_a_cancellation_marks_the_document_cancelada(org, emissor, django_capture_on_commit_callbacks, sinais):
    nfe = gerar_nfe(certificado=emissor)
    importar_um(org, nfe)

    with django_capture_on_commit_callbacks(execute=True):
        [resultado] = importar_um(org, cancelamento(emissor, nfe.chave))

    assert resultado.status == "sucesso"
    documento = escopo(NFe, org).get()
    evento = escopo(EventoDocumento, org).get()
    assert documento.situacao == "cancelada"
    assert (evento.nfe_id, evento.categoria, evento.tipo_evento, evento.codigo_status) == (documento.pk, "cancelamento", "110111", 135)
    assert evento.detalhes["xJust"] == "Erro na digitacao do pedido"
    assert [(n, e["motivo"]) for n, _, _, e in sinais] == [("documento_atualizado", "cancelada")]


def test_a_cancellation_that_arrives_first_applies_when_the_document_comes(org, emissor, django_capture_on_commit_callbacks):
    nfe = gerar_nfe(certificado=emissor)
    [r1] = importar_um(org, cancelamento(emissor, nfe.chave))
    assert r1.status == "sucesso" and escopo(EventoDocumento, org).get().nfe_id is None

    [r2] = importar_um(org, nfe)

    documento = escopo(NFe, org).get()
    assert r2.status == "sucesso" and documento.situacao == "cancelada"
    assert escopo(EventoDocumento, org).get().nfe_id == documento.pk


def test_an_event_before_its_document_in_the_same_zip_is_linked(org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    lote = gerar_lote_zip([cancelamento(emissor, nfe.chave), nfe], nome_arquivo=lambda d: f"{len(d.xml)}.xml")

    resultados = importar_bytes(organizacao=org, nome="lote.zip", conteudo=lote, origem=Origem.UPLOAD)

    assert [r.status for r in resultados] == ["sucesso", "sucesso"]
    documento = escopo(NFe, org).get()
    assert documento.situacao == "cancelada"
    assert escopo(EventoDocumento, org).get().nfe_id == documento.pk


def test_a_correction_letter_is_linked_and_reported(org, emissor, django_capture_on_commit_callbacks, sinais):
    nfe = gerar_nfe(certificado=emissor)
    importar_um(org, nfe)
    cce = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110110", detalhes={"xCorrecao": "Corrige o endereco"})

    with django_capture_on_commit_callbacks(execute=True):
        importar_um(org, cce)

    evento = escopo(EventoDocumento, org).get()
    assert evento.categoria == "carta_correcao" and evento.detalhes["xCorrecao"] == "Corrige o endereco"
    assert escopo(NFe, org).get().situacao == "autorizada"
    assert [(n, e["motivo"]) for n, _, _, e in sinais] == [("documento_atualizado", "evento")]


def test_a_manifestation_event_and_its_duplicate(org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    ciencia = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="210210")
    assert importar_um(org, ciencia)[0].status == "sucesso"
    assert importar_um(org, ciencia)[0].status == "duplicado"
    assert escopo(EventoDocumento, org).get().categoria == "manifestacao"


def test_an_event_summary_is_upgraded_by_the_full_event(org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    resumo = gerar_resumo_evento(chave=nfe.chave, tipo_evento="110111")
    assert importar_um(org, resumo)[0].status == "sucesso"
    evento = escopo(EventoDocumento, org).get()
    assert (evento.completo, evento.assinatura) == (False, "ausente")

    assert importar_um(org, cancelamento(emissor, nfe.chave))[0].status == "sucesso"

    evento.refresh_from_db()
    assert (evento.completo, evento.assinatura, evento.codigo_status) == (True, "valida", 135)


def test_an_unregistered_event_is_rejected(org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    rejeitado = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110111", codigo_status=573,
                                 detalhes={"nProt": "1", "xJust": "qualquer justificativa"})
    [resultado] = importar_um(org, rejeitado)
    assert resultado.status == "erro" and "573" in resultado.mensagem
    assert not escopo(EventoDocumento, org).exists()


# -- CT-e ------------------------------------------------------------------------------------


def test_it_stores_a_cte_with_parties_route_and_carried_nfes(org, transportadora, emissor, sinais, django_capture_on_commit_callbacks):
    nfes = [gerar_nfe(certificado=emissor, numero=n) for n in (1, 2)]
    documento = gerar_cte(certificado=transportadora, chaves_nfe=[d.chave for d in nfes], tomador="3", uf_inicio="SP", uf_fim="RJ")

    with django_capture_on_commit_callbacks(execute=True):
        [resultado] = importar_um(org, documento)

    assert resultado.status == "sucesso", resultado.mensagem
    cte = escopo(CTe, org).get()
    assert (cte.modelo, cte.situacao, cte.uf_inicio, cte.uf_fim, cte.tomador_papel) == ("57", "autorizada", "SP", "RJ", "3")
    assert cte.tomador_documento == cte.destinatario_documento != ""
    assert cte.remetente_documento and cte.municipio_inicio and cte.municipio_fim
    assert cte.valor_prestacao > 0 and cte.valor_carga > 0
    assert cte.chaves_nfe == [d.chave for d in nfes]
    assert nomes(sinais) == ["cte_importado"]


def test_cte_with_toma4_and_cte_os(org, transportadora):
    assert importar_um(org, gerar_cte(certificado=transportadora, tomador="4", modal="02"))[0].status == "sucesso"
    [resultado] = importar_um(org, gerar_cte_os(certificado=transportadora))
    assert resultado.status == "sucesso", resultado.mensagem
    assert sorted(escopo(CTe, org).values_list("modelo", flat=True)) == ["57", "67"]
    assert escopo(CTe, org).get(modelo="57").tomador_papel == "4"


def test_a_cte_cancellation(org, transportadora):
    cte = gerar_cte(certificado=transportadora)
    importar_um(org, cte)
    evento = gerar_evento_cte(certificado=transportadora, chave=cte.chave, tipo_evento="110111",
                              detalhes={"nProt": "135260000000001", "xJust": "Frete cancelado pelo cliente"})
    [resultado] = importar_um(org, evento)
    assert resultado.status == "sucesso", resultado.mensagem
    assert escopo(CTe, org).get().situacao == "cancelada"
    assert escopo(EventoDocumento, org).get().tipo_documento == "cte"


# -- batches ---------------------------------------------------------------------------------


def test_a_zip_reports_each_document_and_one_bad_entry_costs_only_itself(org, emissor, transportadora):
    bons = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 6)] + [gerar_cte(certificado=transportadora)]
    lote = gerar_lote_zip(bons)
    import io
    import zipfile

    buffer = io.BytesIO(lote)
    with zipfile.ZipFile(buffer, "a") as arquivo:
        arquivo.writestr("quebrado.xml", b"<nfeProc><NFe>")

    resultados = importar_bytes(organizacao=org, nome="lote.zip", conteudo=buffer.getvalue(), origem=Origem.UPLOAD)

    assert sorted(r.status for r in resultados) == ["erro"] + ["sucesso"] * 6
    [erro] = [r for r in resultados if r.status == "erro"]
    assert erro.arquivo == "lote.zip/quebrado.xml"
    assert escopo(NFe, org).count() == 5 and escopo(CTe, org).count() == 1
    assert escopo(ImportLog, org).count() == 7


def test_batches_are_written_in_bulk_with_a_constant_number_of_queries(org, emissor, django_assert_max_num_queries):
    documentos = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 41)]
    entradas = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos]
    # 16: the import's end counts its stored events (one grouped query) to queue its e-mails; 18: each batch
    # writes the import's mark (one INSERT, a no-op after the first batch) and the end deletes it.
    with django_assert_max_num_queries(18):
        resultados = list(importar(organizacao=org, entradas=entradas, origem=Origem.PASTA, tamanho_lote=100))
    assert [r.status for r in resultados] == ["sucesso"] * 40
    assert escopo(NFe, org).count() == 40


def test_a_database_failure_in_a_batch_retries_documents_one_by_one(org, emissor, monkeypatch):
    from core.documentos import gravacao

    documentos = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 4)]
    ruim = documentos[1].chave
    original = gravacao._Lote.salvar

    def salvar_falhando(lote):
        if any(n.chave == ruim for n in lote.nfes_novas):
            from django.db import DataError

            raise DataError("valor recusado pelo banco")
        return original(lote)

    monkeypatch.setattr(gravacao._Lote, "salvar", salvar_falhando)
    entradas = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos]
    resultados = list(importar(organizacao=org, entradas=entradas, origem=Origem.PASTA))

    assert [r.status for r in resultados] == ["sucesso", "erro", "sucesso"]
    assert "valor recusado pelo banco" in resultados[1].mensagem
    assert set(escopo(NFe, org).values_list("chave", flat=True)) == {documentos[0].chave, documentos[2].chave}
    # Nothing of the refused document is stored but its attempt, which keeps the bytes it received.
    assert escopo(ArquivoXML, org).count() == 3
    [falha] = escopo(ImportLog, org).filter(status="erro", chave=ruim)
    assert falha.xml.bytes_originais() == documentos[1].xml


# -- environment -----------------------------------------------------------------------------


def test_homologation_documents_are_refused_unless_allowed(org, emissor, settings):
    documento = gerar_nfe(certificado=emissor, ambiente=2)
    [resultado] = importar_um(org, documento)
    assert resultado.status == "erro" and "homologação" in resultado.mensagem

    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    [resultado] = importar_um(org, documento)
    assert resultado.status == "sucesso"
    assert escopo(NFe, org).get().ambiente == 2
