"""The public event catalogue. Names are part of the API: customers' integrations match on them."""

from dataclasses import dataclass

_DOCUMENTO_EXEMPLO = {
    "chave": "35261111222333000181550010000012341000012345",
    "modelo": "55",
    "numero": 1234,
    "serie": 1,
    "data_emissao": "2026-11-29T10:00:00-03:00",
    "emitente": {"documento": "11222333000181", "nome": "DISTRIBUIDORA AURORA LTDA", "uf": "SP"},
    "destinatario": {"documento": "61585865000151", "nome": "COMERCIAL EXEMPLO SA", "uf": "PR"},
    # An NF-e of 2026 with the reform's groups: IBS/CBS informed, not yet added to the total (vNFTot = vNF).
    "valores": {"total": "1520.00", "nf": "1520.00", "nf_tot": "1520.00", "produtos": "1500.00", "icms": "180.00",
                "ipi": "0.00", "bc_ibs_cbs": "1500.00", "ibs": "1.50", "ibs_uf": "1.50", "ibs_mun": "0.00",
                "cbs": "13.50", "is": None, "credito_presumido_ibs": "0.00", "credito_presumido_cbs": "0.00"},
    "finalidade": 1,
    "finalidade_nome": "Normal",
    "situacao": "autorizada",
    "completa": True,
    "assinatura": "valida",
    "links": {
        "detalhe": "https://fiscal.exemplo.com.br/api/nfes/35261111222333000181550010000012341000012345/",
        "xml": "https://fiscal.exemplo.com.br/api/nfes/35261111222333000181550010000012341000012345/xml/",
    },
    # NF-e only (core.documentos.manifestacao_estado.resumo_da_manifestacao).
    "manifestacao": {
        "situacao": "nenhuma", "nome": "Nenhuma", "data": None, "protocolo": "",
        "prazo": "2027-05-28T10:00:05-03:00", "dias_restantes": 180,
    },
}
_SEM_MANIFESTACAO = {
    chave: valor for chave, valor in _DOCUMENTO_EXEMPLO.items() if chave not in ("manifestacao", "finalidade", "finalidade_nome")
}


@dataclass(frozen=True)
class TipoDeEvento:
    nome: str
    descricao: str
    exemplo: dict


TIPOS = {
    t.nome: t
    for t in (
        TipoDeEvento("nfe_importada", "Uma NF-e ou NFC-e nova foi gravada (completa ou só o resumo).", _DOCUMENTO_EXEMPLO),
        TipoDeEvento(
            "cte_importado",
            "Um CT-e ou CT-e OS novo foi gravado.",
            {**_SEM_MANIFESTACAO, "modelo": "57",
             "valores": {"prestacao": "850.00", "receber": "850.00", "carga": "15200.00",
                         "bc_ibs_cbs": "850.00", "ibs": "0.85", "cbs": "7.65", "total_dfe": "850.00"},
             "links": {"detalhe": "https://fiscal.exemplo.com.br/api/ctes/.../", "xml": "https://fiscal.exemplo.com.br/api/ctes/.../xml/"}},
        ),
        TipoDeEvento(
            "documento_importado",
            "Um documento fiscal de outro tipo (GTV-e, CT-e Simplificado) foi gravado com o seu XML; "
            "os campos comuns vêm em `valores` e `tipo`.",
            {**_SEM_MANIFESTACAO, "modelo": "64", "tipo": "gtve", "valores": {"total": "250000.00"},
             "destinatario": {"documento": "", "nome": "", "uf": ""},
             "links": {"detalhe": "https://fiscal.exemplo.com.br/api/outros-documentos/.../",
                       "xml": "https://fiscal.exemplo.com.br/api/outros-documentos/.../xml/"}},
        ),
        TipoDeEvento(
            "documento_atualizado",
            "Um documento mudou: resumo substituído pelo XML completo, protocolo anexado, cancelamento ou outro evento fiscal.",
            {**_DOCUMENTO_EXEMPLO, "situacao": "cancelada", "motivo": "cancelada", "campos": ["situacao"]},
        ),
        TipoDeEvento(
            "manifestacao_pendente",
            "Uma NF-e destinada à organização ainda não tem manifestação conclusiva (confirmação, desconhecimento ou "
            "operação não realizada) e o prazo de 180 dias da autorização vence em breve (tarefa prazos_manifestacao; "
            "uma vez por NF-e).",
            {**_DOCUMENTO_EXEMPLO, "situacao": "resumo", "completa": False, "assinatura": "ausente",
             "manifestacao": {"situacao": "ciencia", "nome": "Ciência da operação", "data": "2026-12-01T09:30:00-03:00",
                              "protocolo": "891260000012345", "prazo": "2027-05-28T10:00:05-03:00", "dias_restantes": 10}},
        ),
        TipoDeEvento(
            "erro_importacao",
            "Um arquivo não pôde ser importado; a mensagem diz o motivo.",
            {"arquivo": "lote.zip/nota-1234.xml", "chave": "", "tipo_xml": "nfeProc", "origem": "upload",
             "mensagem": "digest não confere (conteúdo alterado após a assinatura)", "criado_em": "2026-11-29T10:00:01-03:00"},
        ),
        TipoDeEvento(
            "consulta_concluida",
            "Uma consulta à SEFAZ (distribuição de DF-e) terminou.",
            {"certificado": "11222333000181", "certificado_id": 3, "execucao": "9f1c2b0e8a4d4e7f9a6b5c4d3e2f1a0b",
             "origem": "agendada", "documentos": 12, "importados": 11,
             "servicos": [{"servico": "nfe", "situacao": "concluida", "chamadas": 1, "documentos": 12, "importados": 11,
                           "cstat": 138, "xmotivo": "Documento(s) localizado(s)", "ult_nsu": 4521, "max_nsu": 4521,
                           "proxima_consulta_em": "2026-11-29T11:01:00-03:00"}]},
        ),
        TipoDeEvento(
            "certificado_vencendo",
            "Um certificado A1 vence em breve.",
            {"certificado": "11222333000181", "certificado_id": 3, "titular": "DISTRIBUIDORA AURORA LTDA",
             "validade_fim": "2026-12-20", "dias": 21},
        ),
        TipoDeEvento(
            "webhook_desativado",
            "Um webhook da organização foi desativado: respondeu 410 Gone ou falhou sem nenhum sucesso por 5 dias. "
            "O próprio webhook desativado não o recebe; os outros e o feed, sim.",
            {"webhook_id": 7, "nome": "ERP", "url": "https://erp.exemplo.com.br/fiscal/eventos",
             "motivo": "O receptor respondeu 410 Gone.", "desativado_em": "2026-11-29T10:00:00-03:00"},
        ),
        TipoDeEvento("teste", "Evento de teste, enviado sob pedido para conferir uma integração.", {"mensagem": "Olá do fiscal!"}),
    )
}  # fmt: skip


class EventoDesconhecido(ValueError):
    pass


def tipo_de_evento(nome: str) -> TipoDeEvento:
    if nome not in TIPOS:
        raise EventoDesconhecido(f"evento {nome!r} não existe; os eventos são: {', '.join(TIPOS)}")
    return TIPOS[nome]
