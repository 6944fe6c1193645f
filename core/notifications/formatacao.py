"""How fiscal data reads in an e-mail: masks, money and dates the Brazilian way.

Everything here is pure (no database): the e-mails are built from the same summary the events carry
(`core.eventos.documentos.dados_do_documento`), so a document known only from a stored `Evento`
payload (the multi-process import) reads exactly like one just imported in this process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.models import Situacao

MODELOS = {"55": "NF-e", "65": "NFC-e", "57": "CT-e", "67": "CT-e OS"}
SITUACOES = dict(Situacao.choices)


def campo(objeto, nome: str, padrao=None):
    """`objeto[nome]` for a mapping, `objeto.nome` otherwise: the duck types accept both."""
    if isinstance(objeto, Mapping):
        valor = objeto.get(nome, padrao)
    else:
        valor = getattr(objeto, nome, padrao)
    return padrao if valor is None else valor


def formatar_chave(chave: str) -> str:
    """44 characters in groups of four, as printed on the DANFE/DACTE."""
    chave = (chave or "").strip()
    return " ".join(chave[i : i + 4] for i in range(0, len(chave), 4))


def formatar_documento(documento: str) -> str:
    """CNPJ 11.222.333/0001-81 (alphanumeric CNPJ too) or CPF 123.456.789-09; anything else as is."""
    documento = (documento or "").strip()
    if len(documento) == 14:
        return f"{documento[:2]}.{documento[2:5]}.{documento[5:8]}/{documento[8:12]}-{documento[12:]}"
    if len(documento) == 11 and documento.isdigit():
        return f"{documento[:3]}.{documento[3:6]}.{documento[6:9]}-{documento[9:]}"
    return documento


def formatar_moeda(valor) -> str:
    """R$ 1.234,56 (values arrive as Decimal, number or the "1234.56" strings of the payloads)."""
    try:
        numero = Decimal(str(valor if valor not in (None, "") else 0))
    except InvalidOperation:
        return str(valor)
    texto = f"{abs(numero):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"-R$ {texto}" if numero < 0 else f"R$ {texto}"


def formatar_numero(valor) -> str:
    """1.234 (thousands with dots)."""
    return f"{int(valor or 0):,}".replace(",", ".")


def formatar_data_hora(valor) -> str:
    """dd/mm/aaaa hh:mm in settings.TIME_ZONE; dates as dd/mm/aaaa; "" when absent."""
    valor = _data_ou_data_hora(valor)
    if isinstance(valor, datetime):
        if timezone.is_aware(valor):
            valor = timezone.localtime(valor, timezone.get_default_timezone())
        return valor.strftime("%d/%m/%Y %H:%M")
    if isinstance(valor, date):
        return valor.strftime("%d/%m/%Y")
    return str(valor or "")


def formatar_data(valor) -> str:
    valor = _data_ou_data_hora(valor)
    if isinstance(valor, datetime):
        if timezone.is_aware(valor):
            valor = timezone.localtime(valor, timezone.get_default_timezone())
        valor = valor.date()
    return valor.strftime("%d/%m/%Y") if isinstance(valor, date) else str(valor or "")


def _data_ou_data_hora(valor):
    if isinstance(valor, str) and valor:
        return parse_datetime(valor) or parse_date(valor) or valor
    return valor


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
        "link_detalhe": (dados.get("links") or {}).get("detalhe", ""),
        "link_xml": (dados.get("links") or {}).get("xml", ""),
        "motivo": dados.get("motivo", ""),
        # Only when it is not a plain operation: a credit note or a return must not read as a purchase.
        "finalidade": dados.get("finalidade_nome", "") if dados.get("finalidade") not in (None, 1) else "",
        "tributos_reforma": tributos_reforma(valores),
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
