"""How fiscal data reads for people: masks, money, dates and the names of the SEFAZ codes.

One module for every human-facing surface (the admin, the e-mails, the dashboard), so a CNPJ or a
value reads the same everywhere. Everything here is pure (no database).

Dates and times are shown in Django's current time zone: the organization's (`Organizacao.fuso_horario`)
in the admin and the e-mails, which activate it (core.fuso_horario); settings.TIME_ZONE elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from core.documentos.tipos_evento import nome_do_evento
from core.models import Finalidade, Situacao
from core.models.sefaz import Ambiente

VAZIO = "—"

MODELOS = {"55": "NF-e", "65": "NFC-e", "57": "CT-e", "67": "CT-e OS", "64": "GTV-e"}
SITUACOES = dict(Situacao.choices)
FINALIDADES = dict(Finalidade.choices)
AMBIENTES = dict(Ambiente.choices)
# CT-e ide/modal (PL_CTe_400, TModTransp).
MODAIS = {
    "01": "Rodoviário", "02": "Aéreo", "03": "Aquaviário", "04": "Ferroviário", "05": "Dutoviário",
    "06": "Multimodal",
}  # fmt: skip
# CT-e ide/tpCTe.
TIPOS_CTE = {"0": "Normal", "1": "Complementar de valores", "2": "Anulação", "3": "Substituto"}
# CT-e ide/tpServ (6 to 8 are the CT-e OS's).
TIPOS_SERVICO = {
    "0": "Normal", "1": "Subcontratação", "2": "Redespacho", "3": "Redespacho intermediário",
    "4": "Serviço vinculado a multimodal", "6": "Transporte de pessoas", "7": "Transporte de valores",
    "8": "Excesso de bagagem",
}  # fmt: skip
# CT-e toma3/toma4 (who pays the freight).
PAPEIS_TOMADOR = {"0": "Remetente", "1": "Expedidor", "2": "Recebedor", "3": "Destinatário", "4": "Outro"}


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
    texto = formatar_valor(abs(numero))
    return f"-R$ {texto}" if numero < 0 else f"R$ {texto}"


def formatar_valor(numero: Decimal, casas: int = 2) -> str:
    """1.234,56: a value without the currency sign (the DACTE's boxes, whose labels say "VALOR")."""
    return f"{numero:,.{casas}f}".translate(_PONTO_E_VIRGULA)


_PONTO_E_VIRGULA = str.maketrans(",.", ".,")


def formatar_preco(valor) -> str:
    """A unit price (vUnCom has up to 10 decimals): R$ 592,66 or R$ 0,3375, never a tail of zeros."""
    try:
        numero = Decimal(str(valor if valor not in (None, "") else 0))
    except InvalidOperation:
        return str(valor)
    texto = formatar_valor(abs(numero), max(2, -numero.normalize().as_tuple().exponent))
    return f"-R$ {texto}" if numero < 0 else f"R$ {texto}"


def formatar_numero(valor) -> str:
    """1.234 (thousands with dots)."""
    return f"{int(valor or 0):,}".replace(",", ".")


def formatar_data_hora(valor) -> str:
    """dd/mm/aaaa hh:mm in the current time zone; dates as dd/mm/aaaa; "" when absent."""
    valor = _data_ou_data_hora(valor)
    if isinstance(valor, datetime):
        return _local(valor).strftime("%d/%m/%Y %H:%M")
    if isinstance(valor, date):
        return valor.strftime("%d/%m/%Y")
    return str(valor or "")


def formatar_data(valor) -> str:
    """dd/mm/aaaa; a moment is first brought to the current time zone (23:30 in Brasília is not tomorrow)."""
    valor = _data_ou_data_hora(valor)
    if isinstance(valor, datetime):
        valor = _local(valor).date()
    return valor.strftime("%d/%m/%Y") if isinstance(valor, date) else str(valor or "")


def _local(valor: datetime) -> datetime:
    return timezone.localtime(valor) if timezone.is_aware(valor) else valor


def _data_ou_data_hora(valor):
    if isinstance(valor, str) and valor:
        return parse_datetime(valor) or parse_date(valor) or valor
    return valor


def _nome(nomes: dict, codigo) -> str:
    """Names like "01 Rodoviário": the code stays visible beside its name (people search the XML by code)."""
    if codigo in (None, ""):
        return VAZIO
    nome = nomes.get(codigo) or nomes.get(str(codigo))
    return f"{codigo} {nome}" if nome else str(codigo)


def nome_do_modelo(modelo) -> str:
    return MODELOS.get(str(modelo or ""), str(modelo or ""))


def nome_do_modal(modal) -> str:
    return _nome(MODAIS, modal)


def nome_do_ambiente(ambiente) -> str:
    return _nome({str(k): v for k, v in AMBIENTES.items()}, ambiente)


def nome_do_tipo_cte(tipo) -> str:
    return _nome(TIPOS_CTE, tipo)


def nome_do_tipo_servico(tipo) -> str:
    return _nome(TIPOS_SERVICO, tipo)


def nome_do_papel_tomador(papel) -> str:
    return _nome(PAPEIS_TOMADOR, papel)


def nome_da_finalidade(finalidade) -> str:
    return _nome({str(k): v for k, v in FINALIDADES.items()}, finalidade)


def nome_da_situacao(situacao) -> str:
    return SITUACOES.get(situacao, situacao or VAZIO)


def nome_do_tipo_evento(tipo_documento: str, tipo_evento: str) -> str:
    """Names like "110111 Cancelamento", from the events catalogue (core.documentos.tipos_evento)."""
    return f"{tipo_evento} {nome_do_evento(tipo_documento, tipo_evento)}" if tipo_evento else VAZIO
