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
