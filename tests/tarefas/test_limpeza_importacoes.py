"""limpeza_logs and the kept files: an attempt's bytes go with it, a document's XML stays with the document."""

import pytest

from core.documentos.importacao import Entrada, importar
from core.documentos.reprocessamento import reprocessar
from core.geracao.documentos import gerar_evento_nfe, gerar_nfe
from core.models import ArquivoXML, EventoDocumento, ImportLog, NFe, Origem
from core.tarefas.limpeza import limpar_logs
from core.tenancy import escopo

from .conftest import dias_atras

pytestmark = pytest.mark.django_db

QUEBRADO = b"<nfeProc><NFe>truncado"


def importar_arquivo(org, nome, conteudo):
    [resultado] = importar(organizacao=org, entradas=[Entrada(nome, conteudo)], origem=Origem.UPLOAD)
    return resultado.log


def envelhecer(org, *logs, dias=200):
    escopo(ImportLog, org).filter(pk__in=[log.pk for log in logs]).update(criado_em=dias_atras(dias))


def existem(org, modelo, *pks) -> list[bool]:
    return [escopo(modelo, org).filter(pk=pk).exists() for pk in pks]


def test_an_old_success_goes_but_the_xml_of_its_document_and_event_stays(org, emissor):
    documento = gerar_nfe(certificado=emissor)
    nota = importar_arquivo(org, "nota.xml", documento.xml)
    cancelamento = importar_arquivo(org, "canc.xml", gerar_evento_nfe(certificado=emissor, chave=documento.chave).xml)
    envelhecer(org, nota, cancelamento)

    limpeza = limpar_logs()

    assert limpeza.por_tabela["ImportLog"] == 2 and limpeza.por_tabela["ArquivoXML"] == 0
    assert escopo(NFe, org).get().arquivo.bytes_originais() == documento.xml
    assert escopo(EventoDocumento, org).get().arquivo_id == cancelamento.xml_id
    assert escopo(ArquivoXML, org).count() == 2


def test_an_old_duplicate_with_other_bytes_takes_its_file_along(org, emissor):
    documento = gerar_nfe(certificado=emissor)
    nota = importar_arquivo(org, "nota.xml", documento.xml)
    outra_copia = importar_arquivo(org, "copia.xml", documento.xml.replace(b"?>", b"?>\n", 1))
    assert outra_copia.status == "duplicado" and outra_copia.xml_id != nota.xml_id
    envelhecer(org, nota, outra_copia)  # (ids grow with time: limpeza relies on it)

    limpeza = limpar_logs()

    assert limpeza.por_tabela == {**limpeza.por_tabela, "ImportLog": 2, "ArquivoXML": 1}
    assert existem(org, ArquivoXML, nota.xml_id, outra_copia.xml_id) == [True, False]


def test_an_unresolved_error_keeps_its_bytes_forever(org):
    falha = importar_arquivo(org, "quebrado.xml", QUEBRADO)
    de_novo = reprocessar(falha)[0].log  # failed again: still unresolved
    envelhecer(org, falha, de_novo, dias=1000)

    limpeza = limpar_logs()

    assert limpeza.por_tabela["ImportLog"] == 0
    assert escopo(ImportLog, org).get(pk=falha.pk).xml.bytes_originais() == QUEBRADO


def test_an_error_resolved_by_a_reprocess_follows_the_retention(org, emissor, settings):
    # given: a refused file, stored months later by a reprocess that shares its bytes
    documento = gerar_nfe(certificado=emissor, ambiente=2)
    falha = importar_arquivo(org, "homologacao.xml", documento.xml)
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    sucesso = reprocessar(falha)[0].log
    envelhecer(org, falha)

    # when
    limpeza = limpar_logs()

    # then: the old error goes; the recent run stays, unlinked; the document keeps the shared bytes
    assert limpeza.por_tabela["ImportLog"] == 1 and limpeza.por_tabela["ArquivoXML"] == 0
    sucesso.refresh_from_db()
    assert sucesso.reprocessado_de_id is None and sucesso.xml_id == falha.xml_id
    assert escopo(NFe, org).get().arquivo.bytes_originais() == documento.xml


def test_a_file_still_kept_by_a_recent_attempt_stays(org):
    velha = importar_arquivo(org, "quebrado.xml", QUEBRADO)
    recente = importar_arquivo(org, "quebrado-de-novo.xml", QUEBRADO)
    escopo(ImportLog, org).filter(pk=velha.pk).update(status="duplicado")  # deletable, sharing the bytes
    envelhecer(org, velha)

    limpar_logs()

    assert existem(org, ImportLog, velha.pk, recente.pk) == [False, True]
    assert escopo(ImportLog, org).get(pk=recente.pk).xml.bytes_originais() == QUEBRADO


def test_a_reprocess_never_blocks_the_deletion_of_its_original(org, emissor):
    nota = importar_arquivo(org, "nota.xml", gerar_nfe(certificado=emissor).xml)
    duplicado = reprocessar(nota)[0].log
    envelhecer(org, nota, duplicado)

    limpeza = limpar_logs()

    assert limpeza.por_tabela["ImportLog"] == 2 and not escopo(ImportLog, org).exists()
    assert escopo(ArquivoXML, org).count() == 1  # the document's
