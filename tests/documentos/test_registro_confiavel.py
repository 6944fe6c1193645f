"""Nothing received is lost: cancellations in every shape and order, conflicts, and DF-e kinds read in part.

Every shape is tried in both arrival orders (document first, cancellation first); the state after both must
be the same, and each cancellation raises `documento_atualizado`.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from lxml import etree

from core.documentos import xmldsig
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import (
    NS_NFE,
    gerar_cte_simplificado,
    gerar_evento_nfe,
    gerar_gtve,
    gerar_nfe,
    gerar_resumo_evento,
    gerar_resumo_nfe,
)
from core.models import Evento, EventoDocumento, NFe, NFeItem, Origem, OutroDocumento, Situacao
from core.tenancy import escopo
from tests.api.conftest import cliente_com_token

N = f"{{{NS_NFE}}}"

pytestmark = pytest.mark.django_db


def importar(org, xml: bytes, nome="doc.xml", origem=Origem.UPLOAD):
    [resultado] = importar_bytes(organizacao=org, nome=nome, conteudo=xml, origem=origem)
    return resultado


def eventos(org, tipo: str) -> list[dict]:
    return [e.payload["dados"] for e in escopo(Evento, org).filter(tipo=tipo).order_by("id")]


def cancelamentos_anunciados(org, chave: str) -> int:
    return sum(1 for p in eventos(org, "documento_atualizado") if p["chave"] == chave and p["motivo"] == "cancelada")


def proc_canc_nfe(emissor, chave: str, *, cstat: int = 101) -> bytes:
    """An old-layout (PL_006, procCancNFe_v2.00) cancellation: cancNFe signed by the emitter + retCancNFe."""
    raiz = etree.Element(f"{N}procCancNFe", nsmap={None: NS_NFE}, versao="2.00")
    canc = etree.SubElement(raiz, f"{N}cancNFe", versao="2.00")
    inf = etree.SubElement(canc, f"{N}infCanc", Id=f"ID{chave}")
    for nome, valor in (("tpAmb", "1"), ("xServ", "CANCELAR"), ("chNFe", chave), ("nProt", "135110000000001"),
                        ("xJust", "Cancelamento por erro de digitação no pedido")):
        etree.SubElement(inf, f"{N}{nome}").text = valor
    xmldsig.assinar(inf, emissor.chave_privada, emissor.certificado)
    ret = etree.SubElement(raiz, f"{N}retCancNFe", versao="2.00")
    inf_ret = etree.SubElement(ret, f"{N}infCanc")
    for nome, valor in (("tpAmb", "1"), ("verAplic", "SP_NFE_PL_006"), ("cStat", str(cstat)),
                        ("xMotivo", "Cancelamento de NF-e homologado"), ("cUF", "35"), ("chNFe", chave),
                        ("dhRecbto", "2011-05-10T10:00:00"), ("nProt", "135110000000002")):
        etree.SubElement(inf_ret, f"{N}{nome}").text = valor
    return etree.tostring(raiz, xml_declaration=True, encoding="UTF-8")


# --- cancellation in any shape, in any order -------------------------------------------------------------


def _cancelamento(forma: str, emissor, chave: str) -> tuple[bytes, str]:
    if forma == "procEventoNFe":
        return gerar_evento_nfe(certificado=emissor, chave=chave, tipo_evento="110111").xml, Origem.UPLOAD
    if forma == "resEvento":
        return gerar_resumo_evento(chave=chave, tipo_evento="110111").xml, Origem.SEFAZ
    if forma == "resNFe":
        return gerar_resumo_nfe(chave=chave, situacao=3).xml, Origem.SEFAZ
    return proc_canc_nfe(emissor, chave), Origem.PASTA


@pytest.mark.parametrize("forma", ["procEventoNFe", "resEvento", "procCancNFe"])
@pytest.mark.parametrize("ordem", ["documento_primeiro", "cancelamento_primeiro"])
def test_a_cancellation_in_any_shape_and_order_cancels_and_is_announced(org, emissor, forma, ordem):
    nota = gerar_nfe(certificado=emissor)
    cancelamento, origem = _cancelamento(forma, emissor, nota.chave)
    passos = [(nota.xml, Origem.UPLOAD), (cancelamento, origem)]
    if ordem == "cancelamento_primeiro":
        passos.reverse()
    for xml, de_onde in passos:
        resultado = importar(org, xml, origem=de_onde)
        assert resultado.status == "sucesso", resultado.mensagem

    nfe = escopo(NFe, org).get()
    assert nfe.situacao == Situacao.CANCELADA
    assert nfe.eventos.filter(categoria="cancelamento").count() == 1
    assert cancelamentos_anunciados(org, nota.chave) == 1


@pytest.mark.parametrize("ordem", ["documento_primeiro", "cancelamento_primeiro"])
def test_a_resnfe_saying_cancelled_cancels_when_sefaz_sent_it(org, emissor, ordem):
    nota = gerar_nfe(certificado=emissor)
    resumo = gerar_resumo_nfe(nfe=nota, situacao=3).xml
    passos = [(nota.xml, Origem.UPLOAD), (resumo, Origem.SEFAZ)]
    for xml, origem in passos if ordem == "documento_primeiro" else reversed(passos):
        assert importar(org, xml, origem=origem).ok
    assert escopo(NFe, org).get().situacao == Situacao.CANCELADA
    assert cancelamentos_anunciados(org, nota.chave) == 1


def test_an_unsigned_cancellation_summary_from_an_upload_is_kept_but_cancels_nothing(org, emissor):
    nota = gerar_nfe(certificado=emissor)
    importar(org, nota.xml)
    resultado = importar(org, gerar_resumo_evento(chave=nota.chave, tipo_evento="110111").xml, nome="res.xml")
    assert resultado.status == "sucesso"
    assert "só é cancelado pelo evento assinado ou pela distribuição da SEFAZ" in resultado.mensagem
    assert escopo(NFe, org).get().situacao == Situacao.AUTORIZADA
    assert escopo(EventoDocumento, org).get().assinatura == "ausente"
    # The signed event, when it comes, does cancel.
    assert importar(org, gerar_evento_nfe(certificado=emissor, chave=nota.chave, tipo_evento="110111",
                                          sequencia=1).xml).ok
    assert escopo(NFe, org).get().situacao == Situacao.CANCELADA


@pytest.mark.parametrize("cstat", [101, 151, 155])
def test_an_nfeproc_whose_protocol_says_cancelled_is_stored_cancelled_not_rejected(org, emissor, cstat):
    nota = gerar_nfe(certificado=emissor, codigo_status=cstat)
    resultado = importar(org, nota.xml)
    assert resultado.status == "sucesso", resultado.mensagem
    assert escopo(NFe, org).get().situacao == Situacao.CANCELADA
    assert [p["chave"] for p in eventos(org, "nfe_importada")] == [nota.chave]
    assert cancelamentos_anunciados(org, nota.chave) == 1


def test_the_same_nfe_with_a_cancelled_protocol_after_the_authorized_one_cancels_it(org, emissor):
    from core.geracao.documentos import comum  # noqa: F401  (the generator signs before adding the protocol)

    autorizada = gerar_nfe(certificado=emissor, numero=55)
    raiz = etree.fromstring(autorizada.xml)
    inf_prot = raiz.find(f"{N}protNFe/{N}infProt")
    inf_prot.find(f"{N}cStat").text = "101"
    inf_prot.find(f"{N}xMotivo").text = "Cancelamento de NF-e homologado"
    cancelada = etree.tostring(raiz, xml_declaration=True, encoding="UTF-8")

    assert importar(org, autorizada.xml).status == "sucesso"
    resultado = importar(org, cancelada, nome="cancelada.xml")
    assert resultado.status == "sucesso" and "cancelada (protocolo cStat 101)" in resultado.mensagem
    nfe = escopo(NFe, org).get()
    assert nfe.situacao == Situacao.CANCELADA
    assert nfe.arquivo.bytes_originais() == autorizada.xml  # the authorized file stays the record
    assert cancelamentos_anunciados(org, autorizada.chave) == 1


def test_an_event_before_its_document_is_listed_as_pending_and_reaches_the_feed_when_it_attaches(org, nova_org, emissor):
    api = cliente_com_token(nova_org.usuario)
    nota = gerar_nfe(certificado=emissor)
    cce = gerar_evento_nfe(certificado=emissor, chave=nota.chave, tipo_evento="110110",
                           detalhes={"xCorrecao": "Correção do endereço de entrega do destinatário"})
    assert importar(org, cce.xml, nome="cce.xml").status == "sucesso"
    pendentes = api.get("/api/eventos-pendentes/").json()["results"]
    assert [(p["chave"], p["tipo_evento"]) for p in pendentes] == [(nota.chave, "110110")]
    assert api.get("/api/eventos-pendentes/", {"chave": "0" * 44}).json()["results"] == []

    assert importar(org, nota.xml).status == "sucesso"
    assert api.get("/api/eventos-pendentes/").json()["results"] == []
    [atualizado] = [p for p in eventos(org, "documento_atualizado") if p["chave"] == nota.chave]
    assert atualizado["motivo"] == "evento" and atualizado["eventos"] == ["110110"]
    # The feed says "imported" before "updated".
    ordem = [e.tipo for e in escopo(Evento, org).filter(payload__dados__chave=nota.chave).order_by("id")]
    assert ordem == ["nfe_importada", "documento_atualizado"]


def test_importing_the_same_files_again_costs_no_query_per_document(org, emissor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def reimportar(documentos):
        with CaptureQueriesContext(connection) as consultas:
            resultados = importar_bytes(organizacao=org, nome="lote.zip", conteudo=lote(documentos), origem=Origem.PASTA)
        assert {r.status for r in resultados} == {"duplicado"}
        return len(consultas)

    def lote(documentos):
        from core.geracao.documentos import gerar_lote_zip

        return gerar_lote_zip(documentos, nome_arquivo=lambda d: f"{d.chave}.xml")

    poucos = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 4)]
    muitos = [gerar_nfe(certificado=emissor, numero=n) for n in range(10, 22)]
    for documentos in (poucos, muitos):
        importar_bytes(organizacao=org, nome="lote.zip", conteudo=lote(documentos), origem=Origem.PASTA)
    assert reimportar(poucos) == reimportar(muitos)  # the conflict check counts items only on a real conflict


# --- same chave, different content: a conflict, never a merge ---------------------------------------------


def test_a_second_file_with_the_same_key_and_other_content_is_a_conflict(org, emissor):
    from random import Random

    original = gerar_nfe(certificado=emissor, numero=77, itens=29, rng=Random(1))
    importar(org, original.xml)
    antes = escopo(NFe, org).get()
    # Same key (same emitter, number, series, date and code), other content: a forger's edit, re-signed.
    raiz = etree.fromstring(original.xml)
    inf = raiz.find(f"{N}NFe/{N}infNFe")
    for det in inf.findall(f"{N}det")[1:]:
        inf.remove(det)
    inf.find(f"{N}total/{N}ICMSTot/{N}vNF").text = "1950.00"
    nfe = raiz.find(f"{N}NFe")
    nfe.remove(nfe.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    raiz.remove(raiz.find(f"{N}protNFe"))
    xmldsig.assinar(inf, emissor.chave_privada, emissor.certificado)
    outra = etree.tostring(nfe, xml_declaration=True, encoding="UTF-8")

    resultado = importar(org, outra, nome="outra.xml")
    assert resultado.status == "erro"
    assert resultado.mensagem.startswith("conflito: o conteúdo difere do documento já guardado")
    assert f"valor_total: {antes.valor_total:.2f} → 1950.00" in resultado.mensagem
    assert "itens: 29 → 1" in resultado.mensagem
    depois = escopo(NFe, org).get()
    assert (depois.valor_total, depois.arquivo_id, depois.digest_value) == (antes.valor_total, antes.arquivo_id, antes.digest_value)
    assert escopo(NFeItem, org).count() == 29
    assert [p["mensagem"][:8] for p in eventos(org, "erro_importacao")] == ["conflito"]


def test_the_same_signed_document_again_is_a_duplicate_and_its_protocol_an_upgrade(org, emissor):
    nota = gerar_nfe(certificado=emissor)
    nua = etree.fromstring(nota.xml).find(f"{N}NFe")
    assert importar(org, etree.tostring(nua), nome="nua.xml").status == "sucesso"
    assert escopo(NFe, org).get().situacao == Situacao.SEM_PROTOCOLO
    atualizada = importar(org, nota.xml)
    assert atualizada.status == "sucesso" and "protocolo de autorização anexado" in atualizada.mensagem
    assert importar(org, nota.xml).status == "duplicado"


def test_a_full_xml_that_is_not_the_one_the_summary_announced_is_a_conflict(org, emissor):
    nota = gerar_nfe(certificado=emissor, numero=88)
    resumo = gerar_resumo_nfe(nfe=nota, digest_value="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert importar(org, resumo.xml, origem=Origem.SEFAZ).status == "sucesso"
    resultado = importar(org, nota.xml)
    assert resultado.status == "erro" and "assinatura: DigestValue AAAAAAAAAAAAAAAAAAAAAAAAAAA=" in resultado.mensagem
    assert escopo(NFe, org).get().completa is False


# --- DF-e kinds read in part (GTV-e, CT-e Simplificado) -----------------------------------------------------


@pytest.mark.parametrize("gerar, tipo, tipo_xml", [
    (gerar_gtve, "gtve", "GTVeProc"),
    (gerar_cte_simplificado, "cte_simplificado", "cteSimpProc"),
])
def test_gtve_and_cte_simplificado_are_stored_listed_served_and_announced(org, nova_org, transportadora, gerar, tipo, tipo_xml):
    api = cliente_com_token(nova_org.usuario)
    documento = gerar(certificado=transportadora)
    resultado = importar(org, documento.xml, origem=Origem.SEFAZ)
    assert resultado.status == "sucesso", resultado.mensagem
    outro = escopo(OutroDocumento, org).get()
    assert (outro.chave, outro.tipo, outro.tipo_xml, outro.assinatura) == (documento.chave, tipo, tipo_xml, "valida")
    assert outro.valor_total is not None and outro.valor_total > Decimal("0")

    [linha] = api.get("/api/outros-documentos/", {"tipo": tipo}).json()["results"]
    assert linha["chave"] == documento.chave and linha["emitente_documento"] == transportadora.cnpj
    assert api.get(f"/api/outros-documentos/{documento.chave}/").json()["valor_total"] == f"{outro.valor_total:.2f}"
    assert api.get(f"/api/outros-documentos/{documento.chave}/xml/").content == documento.xml
    [anuncio] = eventos(org, "documento_importado")
    assert (anuncio["chave"], anuncio["tipo"]) == (documento.chave, tipo)

    assert importar(org, documento.xml).status == "duplicado"


def test_a_bare_retcancnfe_is_kept_but_only_a_signed_request_or_sefaz_cancels(org, emissor):
    nota = gerar_nfe(certificado=emissor)
    importar(org, nota.xml)
    proc = etree.fromstring(proc_canc_nfe(emissor, nota.chave))
    so_o_retorno = etree.tostring(proc.find(f"{N}retCancNFe"), xml_declaration=True, encoding="UTF-8")
    resultado = importar(org, so_o_retorno, nome="retCancNFe.xml")
    assert resultado.status == "sucesso" and "só é cancelado pelo evento assinado" in resultado.mensagem
    assert escopo(NFe, org).get().situacao == Situacao.AUTORIZADA
    assert importar(org, etree.tostring(proc), nome="procCancNFe.xml").status == "sucesso"
    assert escopo(NFe, org).get().situacao == Situacao.CANCELADA


def test_an_old_layout_cancellation_signed_by_another_company_is_refused(org, emissor, outro_certificado):
    nota = gerar_nfe(certificado=emissor)
    importar(org, nota.xml)
    resultado = importar(org, proc_canc_nfe(outro_certificado, nota.chave), nome="procCancNFe.xml")
    # The old layout has no author field: the author is the emitter in the key, so the signer must be it.
    assert resultado.status == "erro" and "que não é do autor do evento 11222333000181" in resultado.mensagem
    assert escopo(NFe, org).get().situacao == Situacao.AUTORIZADA


def test_a_cte_whose_protocol_says_cancelled_is_stored_cancelled(org, transportadora):
    from core.geracao.documentos import gerar_cte
    from core.models import CTe

    cte = gerar_cte(certificado=transportadora, codigo_status=101)
    assert importar(org, cte.xml).status == "sucesso"
    assert escopo(CTe, org).get().situacao == Situacao.CANCELADA
    assert cancelamentos_anunciados(org, cte.chave) == 1


@pytest.mark.parametrize("ordem", ["documento_primeiro", "cancelamento_primeiro"])
def test_a_gtve_cancellation_event_attaches_and_cancels_in_either_order(org, transportadora, ordem):
    from core.geracao.documentos import gerar_evento_cte

    gtve = gerar_gtve(certificado=transportadora)
    cancelamento = gerar_evento_cte(certificado=transportadora, chave=gtve.chave, tipo_evento="110111")
    passos = [gtve.xml, cancelamento.xml] if ordem == "documento_primeiro" else [cancelamento.xml, gtve.xml]
    for xml in passos:
        assert importar(org, xml).status == "sucesso"
    outro = escopo(OutroDocumento, org).get()
    assert outro.situacao == Situacao.CANCELADA
    assert outro.eventos.get().tipo_evento == "110111"
    assert cancelamentos_anunciados(org, gtve.chave) == 1


def _dfe_de_um_tipo_novo(transportadora, *, assinado="infNovo", prefixo="Novo"):
    """A signed DF-e of a kind this release does not know: a GTV-e under new names, signed again."""
    from core.geracao.documentos import NS_CTE

    C = f"{{{NS_CTE}}}"
    proc = etree.fromstring(gerar_gtve(certificado=transportadora).xml)
    proc.tag = f"{C}NovoDFeProc"
    documento = proc.find(f"{C}GTVe")
    documento.tag = f"{C}NovoDFe"
    documento.remove(documento.find("{http://www.w3.org/2000/09/xmldsig#}Signature"))
    inf = documento.find(f"{C}infCte")
    inf.tag = f"{C}{assinado}"
    chave = inf.get("Id")[3:]
    inf.set("Id", f"{prefixo}{chave}")
    xmldsig.assinar(inf, transportadora.chave_privada, transportadora.certificado)
    proc.find(f"{C}protCTe/{C}infProt/{C}digVal").text = xmldsig.digest_value_de(inf)  # SEFAZ's receipt of it
    return chave, proc


def test_a_signed_dfe_of_an_unknown_kind_is_stored_as_outro_never_lost(org, nova_org, transportadora):
    chave, proc = _dfe_de_um_tipo_novo(transportadora)
    resultado = importar(org, etree.tostring(proc), nome="novo.xml", origem=Origem.SEFAZ)
    assert resultado.status == "sucesso", resultado.mensagem
    outro = escopo(OutroDocumento, org).get()
    assert (outro.chave, outro.tipo, outro.tipo_xml, outro.modelo) == (chave, "outro", "NovoDFeProc", "64")
    assert outro.emitente_documento == transportadora.cnpj and outro.assinatura == "valida"
    assert outro.situacao == Situacao.AUTORIZADA  # its protCTe/infProt was read
    api = cliente_com_token(nova_org.usuario)
    assert api.get("/api/outros-documentos/", {"tipo": "outro"}).json()["results"][0]["chave"] == chave


def test_an_unknown_envelope_around_a_known_document_or_with_two_signatures_is_refused(org, emissor, transportadora):
    _, disfarce = _dfe_de_um_tipo_novo(transportadora, assinado="infCte", prefixo="CTe")
    resultado = importar(org, etree.tostring(disfarce), nome="disfarce.xml")
    assert resultado.status == "erro" and "envolvendo um infCte" in resultado.mensagem

    _, duas = _dfe_de_um_tipo_novo(transportadora)
    duas.append(copy.deepcopy(duas.find(".//{http://www.w3.org/2000/09/xmldsig#}Signature")))
    resultado = importar(org, etree.tostring(duas), nome="duas.xml")
    assert resultado.status == "erro" and "não é um documento fiscal suportado" in resultado.mensagem
    assert not escopo(OutroDocumento, org).exists()
