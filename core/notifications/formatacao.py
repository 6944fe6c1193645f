"""How fiscal data reads in an e-mail: the template contexts of a document and of a failed import.

The masks, money and dates come from `core.formatacao`, shared with the admin. Everything here is pure
(no database): the e-mails are built from the same summary the events carry
(`core.eventos.documentos.dados_do_documento`), so a document known only from a stored `Evento`
payload (the multi-process import) reads exactly like one just imported in this process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

# Re-exported: e-mail code and tests import them from here.
from core.formatacao import (  # noqa: F401
    MODELOS,
    SITUACOES,
    formatar_chave,
    formatar_data,
    formatar_data_hora,
    formatar_documento,
    formatar_moeda,
    formatar_numero,
)


def campo(objeto, nome: str, padrao=None):
    """`objeto[nome]` for a mapping, `objeto.nome` otherwise: the duck types accept both."""
    if isinstance(objeto, Mapping):
        valor = objeto.get(nome, padrao)
    else:
        valor = getattr(objeto, nome, padrao)
    return padrao if valor is None else valor


def linha_unica(texto: str, limite: int = 180) -> str:
    """A header-safe line: names come from XML and may hold newlines (a header injection otherwise)."""
    texto = re.sub(r"\s+", " ", str(texto or "")).strip()
    return texto if len(texto) <= limite else texto[: limite - 1].rstrip() + "…"


def parte(dados: Mapping, nome: str) -> dict:
    """Emitente/destinatário of a summary: name, masked CNPJ/CPF, UF."""
    valor = dados.get(nome) or {}
    return {
        "nome": valor.get("nome") or "",
        "documento": formatar_documento(valor.get("documento") or ""),
        "uf": valor.get("uf") or "",
    }


def documento_para_email(dados: Mapping) -> dict:
    """The template context of one document, from its event summary (`dados_do_documento`)."""
    valores = dados.get("valores") or {}
    valor_total = valores.get("total", valores.get("prestacao"))
    modelo = str(dados.get("modelo") or "")
    return {
        "tipo": MODELOS.get(modelo, "Documento"),
        "modelo": modelo,
        "chave": dados.get("chave") or "",
        "chave_formatada": formatar_chave(dados.get("chave") or ""),
        "numero": dados.get("numero") or "",
        "serie": dados.get("serie") if dados.get("serie") is not None else "",
        "data_emissao": formatar_data_hora(dados.get("data_emissao")),
        "emitente": parte(dados, "emitente"),
        "destinatario": parte(dados, "destinatario"),
        "valor_total": formatar_moeda(valor_total),
        "situacao": SITUACOES.get(dados.get("situacao"), dados.get("situacao") or ""),
        "completa": bool(dados.get("completa", True)),
        **links_do_admin(dados),
        "motivo": dados.get("motivo", ""),
        # Only when it is not a plain operation: a credit note or a return must not read as a purchase.
        "finalidade": dados.get("finalidade_nome", "") if dados.get("finalidade") not in (None, 1) else "",
        "tributos_reforma": tributos_reforma(valores),
    }


# The admin's model of a document, by modelo; a document with a `tipo` is an OutroDocumento (GTV-e...).
ADMIN_POR_MODELO = {"55": "nfe", "65": "nfe", "57": "cte", "67": "cte"}


def links_do_admin(dados: Mapping) -> dict:
    """{"link_detalhe", "link_xml"}: absolute links (FISCAL_URL_PUBLICA) to the document's admin page and XML,
    by chave, since a person opens them in a browser (the API's links answer 401 there). The admin asks
    for the login first and then opens the document. Another kind of document: its admin list searched
    by chave."""
    chave = dados.get("chave") or ""
    if not chave:
        return {"link_detalhe": "", "link_xml": ""}
    base = settings.FISCAL_URL_PUBLICA.rstrip("/")
    modelo = ADMIN_POR_MODELO.get(str(dados.get("modelo") or ""))
    if modelo is None or dados.get("tipo"):
        return {"link_detalhe": f"{base}{reverse('admin:core_outrodocumento_changelist')}?{urlencode({'q': chave})}",
                "link_xml": ""}  # fmt: skip
    return {
        "link_detalhe": base + reverse(f"admin:core_{modelo}_chave", args=[chave]),
        "link_xml": base + reverse(f"admin:core_{modelo}_chave_xml", args=[chave]),
    }


# The reform's values shown in e-mails, in this order, when the document has them (payload `valores`).
_TRIBUTOS_REFORMA = (
    ("nf", "Valor da NF (vNF)"), ("ibs", "IBS"), ("cbs", "CBS"), ("is", "Imposto Seletivo"),
    ("total_dfe", "Total do DF-e (vTotDFe)"),
)  # fmt: skip


def tributos_reforma(valores: Mapping) -> list[tuple[str, str]]:
    """[(label, R$ value)] of the IBS, CBS and IS a document carries; vNF only when it differs from the total."""
    if valores.get("ibs") is None and valores.get("cbs") is None and valores.get("is") is None:
        return []
    linhas = []
    for chave, rotulo in _TRIBUTOS_REFORMA:
        valor = valores.get(chave)
        if valor is None or (chave == "nf" and valor == valores.get("total")):
            continue
        linhas.append((rotulo, formatar_moeda(valor)))
    return linhas


def erro_para_email(erro) -> dict:
    """The template context of a failed import (`dados_do_erro`, an ImportLog or a Resultado)."""
    chave = campo(erro, "chave", "")
    return {
        "arquivo": campo(erro, "arquivo", ""),
        "mensagem": campo(erro, "mensagem", ""),
        "chave": chave,
        "chave_formatada": formatar_chave(chave),
        "tipo_xml": campo(erro, "tipo_xml", ""),
        "origem": campo(erro, "origem", ""),
    }
