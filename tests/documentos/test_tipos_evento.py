"""The event catalogue: every known type stored with its name and category, 110001 and the other
event cancellations in any order, unknown types kept with their code."""

import importlib
import re

import pytest
from django.apps import apps
from lxml import etree

from core.documentos.importacao import importar_bytes
from core.documentos.tipos_evento import (
    CANCELAVEIS_POR_110001,
    CTE,
    NFE,
    TIPOS_DE_EVENTO,
    Categoria,
    tipo_de_evento,
)
from core.geracao.documentos import gerar_cte, gerar_evento_cte, gerar_evento_nfe, gerar_lote_zip, gerar_nfe
from core.models import EventoDocumento, NFe, Origem, TipoDocumento
from core.tenancy import escopo

pytestmark = pytest.mark.django_db

NFE_CODIGOS = sorted(c for d, c in TIPOS_DE_EVENTO if d == NFE)
CTE_CODIGOS = sorted(c for d, c in TIPOS_DE_EVENTO if d == CTE)


def importar_um(org, documento, nome="evento.xml"):
    return importar_bytes(organizacao=org, nome=nome, conteudo=documento.xml, origem=Origem.UPLOAD)


def protocolo(documento) -> str:
    """The nProt SEFAZ gave the event (retEvento of NF-e, retEventoCTe of CT-e)."""
    return etree.fromstring(documento.xml).xpath("string(/*/*[starts-with(local-name(), 'retEvento')]/*/*[local-name()='nProt'])")


def evento(org, tipo: str) -> EventoDocumento:
    return escopo(EventoDocumento, org).get(tipo_evento=tipo)


# -- the catalogue itself ----------------------------------------------------------------------


def test_every_entry_is_coherent():
    for (documento, codigo), tipo in TIPOS_DE_EVENTO.items():
        assert re.fullmatch(r"[0-9]{6}", codigo) and documento in TipoDocumento.values
        assert tipo.categoria in EventoDocumento.Categoria.values and tipo.categoria != Categoria.OUTRO
        assert tipo.nome and tipo.significado and all(tipo.descricoes)
        assert all(tipo_de_evento(documento, alvo) for alvo in tipo.cancela), codigo
        if documento == NFE:  # PL_010 names one file per tpEvento: e<tpEvento>_v1.00.xsd
            assert tipo.esquema == f"e{codigo}_v1.00.xsd"


def test_110001_cancels_exactly_the_types_its_schema_lists():
    assert len(CANCELAVEIS_POR_110001) == 16
    assert tipo_de_evento(NFE, "110001").cancela == CANCELAVEIS_POR_110001
    assert {tipo_de_evento(NFE, c).categoria for c in CANCELAVEIS_POR_110001} == {Categoria.REFORMA_TRIBUTARIA}


def test_the_descevento_check_ignores_accents_case_and_the_schemas_stray_quote():
    assert tipo_de_evento(NFE, "210200").confere("Confirmação da Operação")
    assert tipo_de_evento(NFE, "610130").confere("Comprovante de Entrega do CT-e")
    assert not tipo_de_evento(NFE, "110111").confere("Cancelamento de Evento")


# -- every known code, imported ----------------------------------------------------------------


@pytest.mark.parametrize("codigo", NFE_CODIGOS)
def test_every_nfe_event_type_is_stored_with_its_name_and_category(org, emissor, codigo):
    tipo = tipo_de_evento(NFE, codigo)
    documento = gerar_evento_nfe(certificado=emissor, chave=gerar_nfe(certificado=emissor).chave, tipo_evento=codigo)

    [resultado] = importar_um(org, documento)

    assert resultado.status == "sucesso", resultado.mensagem
    assert "aviso" not in resultado.mensagem and "fora do catálogo" not in resultado.mensagem
    guardado = evento(org, codigo)
    assert (guardado.categoria, guardado.nome, guardado.significado) == (tipo.categoria, tipo.nome, tipo.significado)


@pytest.mark.parametrize("codigo", CTE_CODIGOS)
def test_every_cte_event_type_is_stored_with_its_name_and_category(org, transportadora, codigo):
    tipo = tipo_de_evento(CTE, codigo)
    chave = gerar_cte(certificado=transportadora).chave
    documento = gerar_evento_cte(certificado=transportadora, chave=chave, tipo_evento=codigo)

    [resultado] = importar_um(org, documento)

    assert resultado.status == "sucesso", resultado.mensagem
    assert "aviso" not in resultado.mensagem
    guardado = evento(org, codigo)
    assert (guardado.tipo_documento, guardado.categoria, guardado.nome) == ("cte", tipo.categoria, tipo.nome)


def test_an_unknown_code_is_stored_as_outro_with_its_code(org, emissor):
    documento = gerar_evento_nfe(certificado=emissor, chave=gerar_nfe(certificado=emissor).chave,
                                 tipo_evento="999999", detalhes={"descEvento": "Evento Futuro", "xInfo": "nova regra"})

    [resultado] = importar_um(org, documento)

    guardado = evento(org, "999999")
    assert resultado.status == "sucesso" and 'fora do catálogo: guardado como "Evento 999999"' in resultado.mensagem
    assert (guardado.categoria, guardado.nome, guardado.significado) == ("outro", "Evento 999999", "")
    assert guardado.descricao == "Evento Futuro" and guardado.detalhes["xInfo"] == "nova regra"
    assert guardado.arquivo.bytes_originais() == documento.xml


def test_a_descevento_the_schema_does_not_have_is_stored_with_a_warning(org, emissor):
    documento = gerar_evento_nfe(certificado=emissor, chave=gerar_nfe(certificado=emissor).chave,
                                 tipo_evento="112150", detalhes={"descEvento": "Nova Data de Entrega",
                                                                  "cOrgaoAutor": "35", "dPrevEntrega": "2026-12-20"})

    [resultado] = importar_um(org, documento)

    assert resultado.status == "sucesso"
    assert 'aviso: descEvento "Nova Data de Entrega" difere do esquema (e112150_v1.00.xsd' in resultado.mensagem
    assert evento(org, "112150").categoria == "reforma_tributaria"


def test_the_items_of_a_reform_event_keep_their_nitem(org, emissor):
    itens = [{"nItem": n, "vIBS": f"{n}.00", "vCBS": f"{n}0.00", "qImobilizado": "2.0000", "uImobilizado": "UN"}
             for n in (1, 3)]
    documento = gerar_evento_nfe(certificado=emissor, chave=gerar_nfe(certificado=emissor).chave,
                                 tipo_evento="211130", itens=itens)

    importar_um(org, documento)

    detalhes = evento(org, "211130").detalhes
    assert (detalhes["tpAutor"], detalhes["vIBS_item1"], detalhes["vCBS_item3"]) == ("2", "1.00", "30.00")
    assert detalhes["qImobilizado_item3"] == "2.0000"


# -- 110001 and the other event cancellations --------------------------------------------------


@pytest.fixture
def reforma(emissor):
    """An NF-e, an emitter's reform event (112110) on it and the 110001 that cancels that event."""
    nfe = gerar_nfe(certificado=emissor)
    pagamento = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="112110")
    cancelamento = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110001",
                                    detalhes={"tpEventoAut": "112110", "nProtEvento": protocolo(pagamento)})
    return nfe, pagamento, cancelamento


def assert_cancelado(org):
    cancelado, cancelador = evento(org, "112110"), evento(org, "110001")
    assert cancelado.cancelado and cancelado.cancelado_por_id == cancelador.pk
    assert not cancelador.cancelado and cancelador.categoria == "cancelamento_evento"
    assert escopo(NFe, org).get().situacao == "autorizada"  # a 110001 never cancels the document


def test_110001_after_the_event_flags_it_and_not_the_nfe(org, reforma, django_capture_on_commit_callbacks):
    nfe, pagamento, cancelamento = reforma
    importar_um(org, nfe)
    importar_um(org, pagamento)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [resultado] = importar_um(org, cancelamento)

    assert_cancelado(org)
    assert f"evento 112110 (protocolo {protocolo(pagamento)}) marcado como cancelado" in resultado.mensagem
    assert callbacks  # documento_atualizado (motivo "evento"), like any event on a stored NF-e
    assert escopo(EventoDocumento, org).get(tipo_evento="110001").nfe_id == escopo(NFe, org).get().pk


def test_110001_before_the_event_flags_it_when_it_arrives(org, reforma):
    nfe, pagamento, cancelamento = reforma
    importar_um(org, nfe)
    [primeiro] = importar_um(org, cancelamento)
    assert "ainda não recebido" in primeiro.mensagem

    [resultado] = importar_um(org, pagamento)

    assert_cancelado(org)
    assert "já cancelado pelo evento 110001" in resultado.mensagem


@pytest.mark.parametrize("ordem", ["cancelamento_primeiro", "evento_primeiro"])
def test_110001_and_its_event_in_the_same_zip_before_the_nfe(org, reforma, ordem):
    nfe, pagamento, cancelamento = reforma
    eventos = [cancelamento, pagamento] if ordem == "cancelamento_primeiro" else [pagamento, cancelamento]
    lote = gerar_lote_zip([*eventos, nfe], nome_arquivo=lambda d: f"{len(d.xml)}-{id(d)}.xml")

    resultados = importar_bytes(organizacao=org, nome="lote.zip", conteudo=lote, origem=Origem.UPLOAD)

    assert [r.status for r in resultados] == ["sucesso"] * 3
    assert_cancelado(org)
    assert set(escopo(EventoDocumento, org).values_list("nfe_id", flat=True)) == {escopo(NFe, org).get().pk}


def test_a_rejected_110001_flags_nothing(org, emissor):
    chave = gerar_nfe(certificado=emissor).chave
    pagamento = gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="112110")
    recusado = gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="110001", codigo_status=573,
                                detalhes={"tpEventoAut": "112110", "nProtEvento": protocolo(pagamento)})
    importar_um(org, pagamento)
    importar_um(org, recusado)

    assert not evento(org, "112110").cancelado


def test_a_110001_naming_another_protocol_flags_nothing(org, reforma, emissor):
    nfe, pagamento, _ = reforma
    outro = gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110001",
                             detalhes={"tpEventoAut": "112110", "nProtEvento": "135269999999999"})
    importar_um(org, pagamento)
    importar_um(org, outro)

    assert not evento(org, "112110").cancelado


def test_a_cte_event_cancellation_flags_its_event(org, transportadora):
    chave = gerar_cte(certificado=transportadora).chave
    desacordo = gerar_evento_cte(certificado=transportadora, chave=chave, tipo_evento="610110")
    cancelamento = gerar_evento_cte(certificado=transportadora, chave=chave, tipo_evento="610111",
                                    detalhes={"nProtEvPrestDes": protocolo(desacordo)})
    importar_um(org, cancelamento)
    importar_um(org, desacordo)

    assert evento(org, "610110").cancelado_por == evento(org, "610111")


def test_the_migration_classifies_and_links_events_stored_before_it(org, reforma):
    nfe, pagamento, cancelamento = reforma
    for documento in (nfe, pagamento, cancelamento):
        importar_um(org, documento)
    escopo(EventoDocumento, org).update(categoria="outro", cancelado_por=None)

    migracao = importlib.import_module("core.migrations.0012_tipos_de_evento")
    migracao.classificar(apps, None)

    assert evento(org, "112110").categoria == "reforma_tributaria"
    assert_cancelado(org)


@pytest.mark.parametrize("ordem", ["evento_primeiro", "cancelamento_primeiro"])
def test_a_110001_by_someone_else_than_the_events_author_flags_nothing(org, reforma, ordem):
    from core.geracao.certificado import gerar_certificado

    nfe, pagamento, _ = reforma
    # Validly signed by its own author, registered (cStat 135): but not the author of the 112110.
    intruso = gerar_certificado(cnpj="61585865000151", nome="COMERCIAL EXEMPLO SA")
    alheio = gerar_evento_nfe(certificado=intruso, chave=nfe.chave, tipo_evento="110001",
                              detalhes={"tpEventoAut": "112110", "nProtEvento": protocolo(pagamento)})
    importar_um(org, nfe)
    documentos = [pagamento, alheio] if ordem == "evento_primeiro" else [alheio, pagamento]
    resultados = [importar_um(org, d)[0] for d in documentos]

    assert [r.status for r in resultados] == ["sucesso", "sucesso"]  # both kept as received
    assert not evento(org, "112110").cancelado
    assert "não cancela o evento 112110: o autor dele é 11222333000181, o deste é 61585865000151" in resultados[1].mensagem
