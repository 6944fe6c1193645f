"""Every received file is kept with its ImportLog, and can be run through the pipeline again."""

import hashlib
import io
import zipfile
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.documentos.importacao import Entrada, importar, importar_bytes
from core.documentos.reprocessamento import (
    ReprocessamentoImpossivel,
    reprocessar,
    reprocessaveis,
)
from core.geracao.documentos import gerar_nfe, gerar_resumo_nfe
from core.models import ArquivoXML, ImportLog, NFe, Origem
from core.tenancy import escopo, inserir

pytestmark = pytest.mark.django_db

QUEBRADO = b"<nfeProc><NFe>truncado"


def importar_arquivo(org, nome, conteudo, origem=Origem.UPLOAD, nsu=None):
    return list(importar(organizacao=org, entradas=[Entrada(nome, conteudo, nsu)], origem=origem))


def o_log(org, **filtros) -> ImportLog:
    return escopo(ImportLog, org).get(**filtros)


def zip_de(**arquivos: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as arquivo_zip:
        for nome, conteudo in arquivos.items():
            arquivo_zip.writestr(nome, conteudo)
    return buffer.getvalue()


# --- What each attempt keeps -----------------------------------------------------------------------


def test_it_keeps_a_stored_documents_bytes_once_shared_with_its_log(org, emissor):
    documento = gerar_nfe(certificado=emissor)

    importar_arquivo(org, "nota.xml", documento.xml)

    log, nfe = o_log(org), escopo(NFe, org).get()
    assert log.xml_id == nfe.arquivo_id and escopo(ArquivoXML, org).count() == 1
    assert log.xml.bytes_originais() == documento.xml
    assert (log.tamanho, log.sha256) == (len(documento.xml), hashlib.sha256(documento.xml).hexdigest())


def test_it_keeps_the_bytes_of_a_failure_and_of_an_unsupported_kind(org):
    desconhecido = b'<?xml version="1.0"?><GTVeProc xmlns="http://www.portalfiscal.inf.br/cte"/>'

    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    importar_arquivo(org, "gtve.xml", desconhecido)

    assert o_log(org, arquivo="quebrado.xml").xml.bytes_originais() == QUEBRADO
    log = o_log(org, arquivo="gtve.xml")
    assert log.status == "erro" and log.xml.bytes_originais() == desconhecido


def test_each_zip_entry_keeps_its_own_bytes_and_a_corrupt_zip_keeps_the_zip(org, emissor):
    documento = gerar_nfe(certificado=emissor)
    lote = zip_de(**{"a.xml": documento.xml, "b.xml": QUEBRADO})
    corrompido = lote[:40]

    importar_arquivo(org, "lote.zip", lote)
    importar_arquivo(org, "corrompido.zip", corrompido)

    assert o_log(org, arquivo="lote.zip/a.xml").xml.bytes_originais() == documento.xml
    assert o_log(org, arquivo="lote.zip/b.xml").xml.bytes_originais() == QUEBRADO
    log = o_log(org, arquivo="corrompido.zip")
    assert "ZIP corrompido" in log.mensagem and log.xml.bytes_originais() == corrompido


def test_a_file_over_the_limit_keeps_its_name_size_and_sha256_only(org, settings):
    settings.FISCAL_MAX_XML_BYTES = 100
    grande = b"<NFe>" + b" " * 200 + b"</NFe>"

    importar_arquivo(org, "grande.xml", grande)

    log = o_log(org)
    assert log.status == "erro" and log.xml is None and log.arquivo == "grande.xml"
    assert (log.tamanho, log.sha256) == (len(grande), hashlib.sha256(grande).hexdigest())
    assert escopo(ArquivoXML, org).count() == 0


def test_a_zip_entry_over_the_limit_keeps_its_size_and_sha256(org, settings):
    settings.FISCAL_MAX_XML_BYTES = 100
    grande = b"<NFe>" + b"x" * 300 + b"</NFe>"

    importar_arquivo(org, "lote.zip", zip_de(**{"grande.xml": grande}))

    log = o_log(org)
    assert (log.arquivo, log.xml) == ("lote.zip/grande.xml", None)
    assert (log.tamanho, log.sha256) == (len(grande), hashlib.sha256(grande).hexdigest())


def test_an_input_the_caller_could_not_decode_keeps_the_raw_bytes_it_has(org):
    # e.g. a docZip whose gzip is broken: the caller passes what it received along with the reason
    bruto = b"\x1f\x8b\x08\x00quebrado"

    list(importar(organizacao=org, origem=Origem.SEFAZ,
                  entradas=[Entrada("SEFAZ NFE docZip", bruto, 77, erro="NSU 77: docZip ilegível")]))  # fmt: skip

    log = o_log(org)
    assert (log.status, log.nsu, log.mensagem) == ("erro", 77, "NSU 77: docZip ilegível")
    assert log.xml.bytes_originais() == bruto


def test_a_sefaz_document_keeps_its_xml_and_nsu(org, emissor):
    # core.sefaz.distribuicao hands each decompressed docZip to importar() as one Entrada with its NSU.
    xml = gerar_resumo_nfe(nfe=gerar_nfe(certificado=emissor)).xml

    importar_arquivo(org, "SEFAZ NFE NSU 000000000000042 (resNFe_v1.01.xsd)", xml, Origem.SEFAZ, nsu=42)
    importar_arquivo(org, "SEFAZ NFE NSU 000000000000043 (resNFe_v1.01.xsd)", QUEBRADO, Origem.SEFAZ, nsu=43)

    resumo, falha = o_log(org, nsu=42), o_log(org, nsu=43)
    assert resumo.status == "sucesso" and resumo.xml.bytes_originais() == xml
    assert falha.status == "erro" and falha.origem == "sefaz" and falha.xml.bytes_originais() == QUEBRADO


def test_the_same_bytes_twice_are_kept_once(org, emissor):
    documento = gerar_nfe(certificado=emissor)

    importar_arquivo(org, "nota.xml", documento.xml)
    importar_arquivo(org, "de-novo.xml", documento.xml)
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    importar_arquivo(org, "quebrado-de-novo.xml", QUEBRADO)

    assert escopo(ArquivoXML, org).count() == 2
    assert o_log(org, arquivo="de-novo.xml").xml_id == escopo(NFe, org).get().arquivo_id
    assert o_log(org, arquivo="quebrado.xml").xml_id == o_log(org, arquivo="quebrado-de-novo.xml").xml_id


def test_bytes_are_never_shared_across_organizations(org, outra_org):
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    importar_arquivo(outra_org, "quebrado.xml", QUEBRADO)

    assert o_log(org).xml_id != o_log(outra_org).xml_id
    assert o_log(outra_org).xml.organizacao_id == outra_org.pk


# --- Reprocessing ----------------------------------------------------------------------------------


def test_a_refused_file_reprocessed_after_the_fix_is_stored_and_points_at_the_original(org, emissor, settings):
    # given: a homologation NF-e refused by the settings of the time
    documento = gerar_nfe(certificado=emissor, ambiente=2)
    importar_arquivo(org, "homologacao.xml", documento.xml)
    original = o_log(org)
    assert original.status == "erro"

    # when: the operator allows homologation and reprocesses
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    [resultado] = reprocessar(original)

    # then: a new attempt, pointing at the original, stored the document on the bytes already kept
    assert resultado.status == "sucesso" and isinstance(resultado.documento, NFe)
    novo = resultado.log
    assert novo.pk != original.pk and novo.reprocessado_de_id == original.pk
    assert (novo.arquivo, novo.origem, novo.chave) == ("homologacao.xml", "upload", documento.chave)
    assert escopo(NFe, org).get().arquivo_id == original.xml_id == novo.xml_id
    assert escopo(ArquivoXML, org).count() == 1
    original.refresh_from_db()
    assert original.status == "erro"  # history is never rewritten


def test_reprocessing_is_idempotent_and_always_points_at_the_first_attempt(org, emissor, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    documento = gerar_nfe(certificado=emissor)
    importar_arquivo(org, "nota.xml", documento.xml)
    original = o_log(org)

    [primeira] = reprocessar(original)
    [segunda] = reprocessar(primeira.log)

    assert [primeira.status, segunda.status] == ["duplicado", "duplicado"]
    assert primeira.documento == segunda.documento == escopo(NFe, org).get()
    assert primeira.log.reprocessado_de_id == segunda.log.reprocessado_de_id == original.pk
    assert escopo(NFe, org).count() == 1 and escopo(ArquivoXML, org).count() == 1


def test_a_reprocess_that_fails_again_says_why_and_saves_nothing_else(org):
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    original = o_log(org)

    [resultado] = reprocessar(original)

    assert resultado.status == "erro" and "não é XML válido" in resultado.mensagem
    assert resultado.log.mensagem == resultado.mensagem and resultado.log.reprocessado_de_id == original.pk
    assert escopo(NFe, org).count() == 0 and escopo(ArquivoXML, org).count() == 1


def test_an_attempt_without_kept_bytes_cannot_be_reprocessed_and_says_why(org, settings):
    settings.FISCAL_MAX_XML_BYTES = 10
    importar_arquivo(org, "grande.xml", b"<NFe>" + b" " * 50 + b"</NFe>")
    [antigo] = inserir(ImportLog, org, [ImportLog(organizacao=org, arquivo="velho.xml", status="erro", origem="pasta")])

    with pytest.raises(ReprocessamentoImpossivel, match=r"61 bytes, SHA-256 [0-9a-f]{64}\) não foi guardado"):
        reprocessar(o_log(org, arquivo="grande.xml"))
    with pytest.raises(ReprocessamentoImpossivel, match="anterior ao registro dos arquivos"):
        reprocessar(antigo)
    assert escopo(ImportLog, org).count() == 2


def test_corrupted_kept_bytes_are_refused(org):
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    escopo(ArquivoXML, org).update(sha256="0" * 64)

    with pytest.raises(ReprocessamentoImpossivel, match="corrompido"):
        reprocessar(o_log(org))


def test_reprocessaveis_picks_the_last_attempt_of_each_file_with_the_filters(org, outra_org, emissor):
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    importar_arquivo(org, "nota.xml", gerar_nfe(certificado=emissor).xml)
    importar_arquivo(outra_org, "quebrado.xml", QUEBRADO)
    quebrado = o_log(org, arquivo="quebrado.xml")
    [de_novo] = reprocessar(quebrado)

    assert list(reprocessaveis(organizacao=org, status="erro")) == [de_novo.log]
    assert list(reprocessaveis(organizacao=org, motivo="xml válido")) == [de_novo.log]
    assert list(reprocessaveis(organizacao=org, status="sucesso")) == [o_log(org, arquivo="nota.xml")]
    assert reprocessaveis(status="erro").count() == 2  # every organization
    amanha = (timezone.localdate() + timedelta(days=1))
    assert not reprocessaveis(organizacao=org, desde=amanha).exists()
    # `desde` is when the file first came: the reprocess of an old file is old too
    escopo(ImportLog, org).filter(pk=quebrado.pk).update(criado_em=timezone.now() - timedelta(days=10))
    assert list(reprocessaveis(organizacao=org, status="erro", desde=timezone.localdate())) == []


# --- The command -----------------------------------------------------------------------------------


def rodar(*argumentos):
    out, err = StringIO(), StringIO()
    codigo = 0
    try:
        call_command("reprocessar_importacoes", "--sem-progresso", *argumentos, stdout=out, stderr=err)
    except CommandError as erro:
        err.write(str(erro))
        codigo = 1
    return codigo, out.getvalue(), err.getvalue()


def test_the_command_reprocesses_names_each_failure_and_summarizes(org, outra_org, emissor, settings):
    documento = gerar_nfe(certificado=emissor, ambiente=2)
    importar_arquivo(org, "homologacao.xml", documento.xml)
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    importar_arquivo(outra_org, "quebrado.xml", QUEBRADO)
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True

    codigo, out, err = rodar("--organizacao", org.slug, "--status", "erro")

    assert codigo == 1
    assert "reprocessar_importacoes: 2 importação(ões) reprocessada(s): 1 sucesso, 0 duplicado, 1 erro" in out
    assert "ERRO quebrado.xml (importação" in err and "não é XML válido" in err
    assert escopo(NFe, org).filter(chave=documento.chave).exists()
    assert escopo(ImportLog, outra_org).count() == 1  # another organization is left alone

    # run again: the stored file is no longer an error; only the broken one is tried
    codigo, out, _ = rodar("--organizacao", org.slug, "--status", "erro")
    assert "1 importação(ões) reprocessada(s): 0 sucesso, 0 duplicado, 1 erro" in out


def test_the_command_filters_by_message_and_counts_in_a_dry_run(org, emissor):
    importar_arquivo(org, "quebrado.xml", QUEBRADO)
    importar_arquivo(org, "nota.xml", gerar_nfe(certificado=emissor).xml)

    codigo, out, _ = rodar("--motivo", "importada", "--dry-run")

    assert codigo == 0 and "1 importação(ões) seriam reprocessadas" in out
    assert escopo(ImportLog, org).count() == 2


@pytest.mark.parametrize(
    "argumentos, mensagem",
    [(["--organizacao", "nao-existe"], "organização 'nao-existe' não encontrada"),
     (["--desde", "01/12/2026"], "data inválida '01/12/2026': use AAAA-MM-DD"),
     (["--status", "talvez"], "invalid choice")],
)  # fmt: skip
def test_the_command_refuses_bad_arguments(argumentos, mensagem, db):
    with pytest.raises(CommandError, match=mensagem):
        call_command("reprocessar_importacoes", *argumentos, stdout=StringIO(), stderr=StringIO())


def test_the_command_reports_a_file_that_was_not_kept(org, settings):
    settings.FISCAL_MAX_XML_BYTES = 10
    importar_bytes(organizacao=org, nome="grande.xml", conteudo=b"<NFe>" + b" " * 50 + b"</NFe>", origem=Origem.UPLOAD)

    codigo, out, err = rodar()

    assert codigo == 1 and "1 sem arquivo guardado" in out
    assert "SEM ARQUIVO grande.xml: importação" in err and "passar do limite de tamanho" in err
