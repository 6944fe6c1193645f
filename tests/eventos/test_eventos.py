"""Domain events: written with the change that caused them, summarised, and readable as a feed."""

import pytest
from django.db import DataError

from core.documentos import gravacao
from core.documentos.importacao import Entrada, importar, importar_bytes
from core.eventos.catalogo import EventoDesconhecido
from core.eventos.emissao import disparar_webhook, novo_id_de_evento
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.models import Evento, NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db


def eventos(org) -> list[tuple[str, dict]]:
    return [(e.tipo, e.payload) for e in escopo(Evento, org).order_by("id")]


def test_importing_a_document_records_its_event(org, emissor, settings):
    settings.FISCAL_URL_PUBLICA = "https://fiscal.exemplo.com.br"
    nfe = gerar_nfe(certificado=emissor, numero=77)
    importar_bytes(organizacao=org, nome="n.xml", conteudo=nfe.xml, origem=Origem.UPLOAD)

    [(tipo, payload)] = eventos(org)
    assert tipo == "nfe_importada"
    assert set(payload) == {"id", "evento", "criado_em", "dados"}
    assert payload["id"].startswith("evt_") and payload["evento"] == "nfe_importada"
    dados = payload["dados"]
    assert (dados["chave"], dados["numero"], dados["situacao"], dados["completa"]) == (nfe.chave, 77, "autorizada", True)
    assert dados["assinatura"] == "valida"  # cadeia_desconhecida, ausente (summary) or invalida otherwise
    assert dados["emitente"]["documento"] == "11222333000181"
    assert dados["valores"]["total"] == f"{escopo(NFe, org).get().valor_total:.2f}"
    assert dados["links"]["xml"] == f"https://fiscal.exemplo.com.br/api/nfes/{nfe.chave}/xml/"
    assert "<" not in str(payload)  # the XML is never inlined


def test_updates_cte_and_errors_have_their_events(org, emissor, transportadora):
    completo = gerar_nfe(certificado=emissor)
    resumo = gerar_resumo_nfe(nfe=completo)
    for documento in (resumo, completo, gerar_cte(certificado=transportadora)):
        importar_bytes(organizacao=org, nome="d.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    cancelamento = gerar_evento_nfe(certificado=emissor, chave=completo.chave, tipo_evento="110111",
                                    detalhes={"nProt": "1", "xJust": "cancelada pelo emitente"})
    importar_bytes(organizacao=org, nome="c.xml", conteudo=cancelamento.xml, origem=Origem.UPLOAD)
    importar_bytes(organizacao=org, nome="ruim.xml", conteudo=b"<nfeProc", origem=Origem.UPLOAD)
    importar_bytes(organizacao=org, nome="d.xml", conteudo=completo.xml, origem=Origem.UPLOAD)  # duplicate: no event

    registrados = eventos(org)
    assert [t for t, _ in registrados] == [
        "nfe_importada", "documento_atualizado", "cte_importado", "documento_atualizado", "erro_importacao",
    ]
    assert registrados[1][1]["dados"]["motivo"] == "xml_completo"
    assert registrados[3][1]["dados"]["situacao"] == "cancelada"
    assert registrados[4][1]["dados"]["arquivo"] == "ruim.xml" and "não é XML" in registrados[4][1]["dados"]["mensagem"]


def test_a_rolled_back_document_leaves_no_event(org, emissor, monkeypatch):
    documentos = [gerar_nfe(certificado=emissor, numero=n) for n in (1, 2)]
    original = gravacao._Lote.salvar

    def salvar(lote):
        original(lote)  # everything is written, events included...
        if any(n.numero == 2 for n in lote.nfes_novas):
            raise DataError("recusado")  # ...then the transaction fails

    monkeypatch.setattr(gravacao._Lote, "salvar", salvar)
    resultados = list(importar(organizacao=org, entradas=[Entrada(f"{d.chave}.xml", d.xml) for d in documentos],
                               origem=Origem.PASTA))

    assert [r.status for r in resultados] == ["sucesso", "erro"]
    assert [(t, p["dados"].get("chave") or p["dados"]["arquivo"]) for t, p in eventos(org)] == [
        ("nfe_importada", documentos[0].chave),
        ("erro_importacao", documentos[1].chave),
    ]


def test_events_belong_to_their_organization(org, outra_org, emissor):
    nfe = gerar_nfe(certificado=emissor)
    importar_bytes(organizacao=org, nome="n.xml", conteudo=nfe.xml, origem=Origem.UPLOAD)
    assert not escopo(Evento, outra_org).exists()


def test_disparar_webhook_validates_the_event_name(org):
    evento = disparar_webhook("teste", {"mensagem": "oi"}, org)
    assert escopo(Evento, org).get().payload == {
        "id": evento.id, "evento": "teste", "criado_em": evento.payload["criado_em"], "dados": {"mensagem": "oi"},
    }
    with pytest.raises(EventoDesconhecido, match="nfe_importada"):
        disparar_webhook("nota_chegou", {}, org)


def test_event_ids_are_unique_and_sort_by_time():
    ids = [novo_id_de_evento() for _ in range(2000)]
    assert len(set(ids)) == 2000 and all(len(i) == 30 for i in ids)
    assert ids == sorted(ids)  # strictly increasing, even within one millisecond


def test_the_payload_values_of_reform_documents_equal_their_xml_and_the_catalogue_shape(org, emissor, transportadora):
    from datetime import datetime
    from decimal import Decimal

    from lxml import etree

    from core.eventos.catalogo import TIPOS
    from core.geracao.documentos import FUSO, gerar_cte_os

    em_2027 = datetime(2027, 3, 1, 10, tzinfo=FUSO)
    nfe = gerar_nfe(certificado=emissor, data_emissao=em_2027, reforma=True, imposto_seletivo=True, finalidade=5)
    cte = gerar_cte_os(certificado=transportadora, data_emissao=em_2027, reforma=True)
    for documento in (nfe, cte):
        importar_bytes(organizacao=org, nome="d.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
    [(_, da_nfe), (_, do_cte)] = eventos(org)
    valores_nfe, valores_cte = da_nfe["dados"]["valores"], do_cte["dados"]["valores"]

    def xml(documento, caminho, ns):
        return f"{Decimal(etree.fromstring(documento.xml).xpath(f'string({caminho})', namespaces=ns)):.2f}"

    n, c = {"n": "http://www.portalfiscal.inf.br/nfe"}, {"c": "http://www.portalfiscal.inf.br/cte"}
    assert valores_nfe["nf"] == xml(nfe, "//n:ICMSTot/n:vNF", n)
    assert valores_nfe["total"] == valores_nfe["nf_tot"] == xml(nfe, "//n:total/n:vNFTot", n)
    assert valores_nfe["ibs"] == xml(nfe, "//n:IBSCBSTot/n:gIBS/n:vIBS", n)
    assert valores_nfe["ibs_uf"] == xml(nfe, "//n:IBSCBSTot/n:gIBS/n:gIBSUF/n:vIBSUF", n)
    assert valores_nfe["ibs_mun"] == xml(nfe, "//n:IBSCBSTot/n:gIBS/n:gIBSMun/n:vIBSMun", n)
    assert valores_nfe["cbs"] == xml(nfe, "//n:IBSCBSTot/n:gCBS/n:vCBS", n)
    assert valores_nfe["is"] == xml(nfe, "//n:ISTot/n:vIS", n)
    assert valores_nfe["bc_ibs_cbs"] == xml(nfe, "//n:IBSCBSTot/n:vBCIBSCBS", n)
    assert (da_nfe["dados"]["finalidade"], da_nfe["dados"]["finalidade_nome"]) == (5, "Nota de crédito")
    assert valores_cte["total_dfe"] == xml(cte, "//c:imp/c:vTotDFe", c)
    assert valores_cte["cbs"] == xml(cte, "//c:imp/c:IBSCBS/c:gIBSCBS/c:gCBS/c:vCBS", c)
    assert valores_cte["ibs"] == xml(cte, "//c:imp/c:IBSCBS/c:gIBSCBS/c:vIBS", c)
    # The catalogue shows integrators the same keys as the real payloads.
    assert set(valores_nfe) == set(TIPOS["nfe_importada"].exemplo["valores"])
    assert set(valores_cte) == set(TIPOS["cte_importado"].exemplo["valores"])
    assert {"finalidade", "finalidade_nome"} <= set(TIPOS["nfe_importada"].exemplo)


def test_a_document_without_the_reform_has_null_reform_values_in_its_payload(org, emissor):
    importar_bytes(organizacao=org, nome="n.xml", conteudo=gerar_nfe(certificado=emissor).xml, origem=Origem.UPLOAD)
    [(_, payload)] = eventos(org)
    valores = payload["dados"]["valores"]
    assert [valores[c] for c in ("nf_tot", "ibs", "cbs", "is")] == [None] * 4
    assert valores["total"] == valores["nf"]
