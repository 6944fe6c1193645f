"""From the readers' dataclasses to model field values."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.db import models
from django.utils import timezone

from core.models import CTe, EventoDocumento, NFe, OutroDocumento

from .chave import decompor_chave
from .dados import DadosCTe, DadosEvento, DadosNFe, DadosOutro, Parte, ResumoNFe
from .leitura.reforma import CAMPOS_CTE, CAMPOS_TOTAL_NFE
from .manifestacao_estado import prazo_da_manifestacao
from .tipos_evento import categoria_do_evento


@cache
def _tamanhos(modelo: type[models.Model]) -> dict[str, int]:
    return {
        f.name: f.max_length
        for f in modelo._meta.concrete_fields
        if isinstance(f, models.CharField) and f.max_length
    }


def limitar(modelo: type[models.Model], campos: dict) -> dict:
    """Cut text to the column size: a document that breaks the schema's lengths still imports."""
    tamanhos = _tamanhos(modelo)
    return {
        nome: valor[: tamanhos[nome]] if nome in tamanhos and isinstance(valor, str) else valor
        for nome, valor in campos.items()
    }


def datas_de_emissao(data_emissao: datetime) -> dict:
    # settings.TIME_ZONE, never the current zone: an import started from an admin page runs in the
    # organization's zone (core.fuso_horario), and the stored day must not depend on who started it.
    local = timezone.localtime(data_emissao, timezone.get_default_timezone())
    return {"data_emissao": data_emissao, "data_emissao_local": local.date()}


def _parte(prefixo: str, parte: Parte | None) -> dict:
    parte = parte or Parte()
    return {f"{prefixo}_documento": parte.documento, f"{prefixo}_nome": parte.nome, f"{prefixo}_uf": parte.uf}


def _protocolo(dados) -> dict:
    protocolo = dados.protocolo
    if protocolo is None:
        return {"protocolo": "", "data_recebimento": None, "codigo_status": None}
    return {
        "protocolo": protocolo.numero,
        "data_recebimento": protocolo.data_recebimento,
        "codigo_status": protocolo.codigo_status,
    }


def _identidade(dados: DadosNFe | DadosCTe) -> dict:
    return {
        "chave": dados.chave,
        "modelo": dados.modelo,
        "serie": dados.serie,
        "numero": dados.numero,
        **datas_de_emissao(dados.data_emissao),
        "natureza_operacao": dados.natureza_operacao,
        "ambiente": dados.ambiente,
        "emitente_ie": dados.emitente.ie,
    }


def _tributos(dados, nomes: tuple[str, ...]) -> dict:
    """The reform fields, NULL (and {} for the whole group) when the document has none."""
    return {nome: dados.tributos.get(nome, {} if nome == "tributos_reforma" else None) for nome in nomes}


def campos_nfe(dados: DadosNFe) -> dict:
    destinatario = dados.destinatario
    tributos = _tributos(dados, CAMPOS_TOTAL_NFE)
    autorizada_em = dados.protocolo.data_recebimento if dados.protocolo else None
    return limitar(NFe, {
        **_identidade(dados),
        **_parte("emitente", dados.emitente),
        **_parte("destinatario", destinatario),
        **_protocolo(dados),
        "destinatario_tipo_documento": destinatario.tipo_documento if destinatario else "",
        "tipo_operacao": dados.tipo_operacao,
        "data_saida_entrada": dados.data_saida_entrada,
        "finalidade": dados.finalidade,
        # "Valor total" is vNFTot once the NF-e has it (the total with the taxes charged on top), else vNF.
        "valor_total": tributos["valor_nf_tot"] if tributos["valor_nf_tot"] is not None else dados.valor_nf,
        "valor_nf": dados.valor_nf,
        **tributos,
        "prazo_manifestacao": prazo_da_manifestacao(dados.modelo, autorizada_em or dados.data_emissao),
        "valor_produtos": dados.valor_produtos,
        "valor_icms": dados.valor_icms,
        "valor_ipi": dados.valor_ipi,
        "valor_frete": dados.valor_frete,
        "valor_desconto": dados.valor_desconto,
    })


def campos_resumo_nfe(dados: ResumoNFe) -> dict:
    """A summary says little; the rest comes from the fields packed in the key."""
    partes = decompor_chave(dados.chave)
    return limitar(NFe, {
        "chave": dados.chave,
        "modelo": partes.modelo,
        "serie": partes.serie,
        "numero": partes.numero,
        **datas_de_emissao(dados.data_emissao),
        "tipo_operacao": dados.tipo_operacao,
        **_parte("emitente", dados.emitente),
        "emitente_uf": dados.emitente.uf or partes.uf,
        "emitente_ie": dados.emitente.ie,
        "valor_total": dados.valor_total,
        "valor_nf": dados.valor_total,
        "prazo_manifestacao": prazo_da_manifestacao(partes.modelo, dados.data_recebimento or dados.data_emissao),
        "protocolo": dados.protocolo_numero,
        "data_recebimento": dados.data_recebimento,
        "digest_value": dados.digest_value,
    })


def campos_cte(dados: DadosCTe) -> dict:
    return limitar(CTe, {
        **_identidade(dados),
        **_parte("emitente", dados.emitente),
        **_parte("destinatario", dados.destinatario),
        **_parte("remetente", dados.remetente),
        **_parte("expedidor", dados.expedidor),
        **_parte("recebedor", dados.recebedor),
        **_parte("tomador", dados.tomador),
        **_protocolo(dados),
        "cfop": dados.cfop,
        "tipo_cte": dados.tipo_cte,
        "modal": dados.modal,
        "tipo_servico": dados.tipo_servico,
        "tomador_papel": dados.tomador_papel,
        "codigo_municipio_inicio": dados.codigo_municipio_inicio,
        "municipio_inicio": dados.municipio_inicio,
        "uf_inicio": dados.uf_inicio,
        "codigo_municipio_fim": dados.codigo_municipio_fim,
        "municipio_fim": dados.municipio_fim,
        "uf_fim": dados.uf_fim,
        "valor_prestacao": dados.valor_prestacao,
        "valor_receber": dados.valor_receber,
        "valor_carga": dados.valor_carga,
        "valor_icms": dados.valor_icms,
        "chaves_nfe": list(dados.chaves_nfe),
        **_tributos(dados, CAMPOS_CTE),
    })


def campos_outro(dados: DadosOutro) -> dict:
    return limitar(OutroDocumento, {
        **_identidade(dados),
        **_parte("emitente", dados.emitente),
        **_protocolo(dados),
        "tipo": dados.tipo,
        "valor_total": dados.valor_total,
    })


def campos_evento(dados: DadosEvento) -> dict:
    protocolo = dados.protocolo
    return limitar(EventoDocumento, {
        "chave": dados.chave,
        "tipo_documento": dados.tipo_documento,
        "tipo_evento": dados.tipo_evento,
        "categoria": categoria_do_evento(dados.tipo_documento, dados.tipo_evento),
        "descricao": dados.descricao,
        "sequencia": dados.sequencia,
        "data_evento": dados.data_evento,
        "autor_documento": dados.autor_documento,
        "orgao": dados.orgao,
        "ambiente": dados.ambiente,
        "protocolo": protocolo.numero if protocolo else "",
        "data_registro": protocolo.data_recebimento if protocolo else None,
        "codigo_status": protocolo.codigo_status if protocolo else None,
        "completo": dados.completo,
        "detalhes": dados.detalhes,
    })
