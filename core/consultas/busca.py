"""One search box over NF-e and CT-e: chave, part of a chave, número, CNPJ/CPF or a name.

`interpretar()` decides what the text can be; `buscar()` (the API's /api/buscar/) runs one query per
exact field (chave, número or each CNPJ/CPF field) and one partial query per model, each cut at `limite`
rows, and ranks the union: the exact chave, then exact número/documento, then partial matches, the newest
first within a rank. `condicao()` is the
same match as one filter on one model: the admin's search box of NF-e, CT-e and outros documentos.
"""

import re
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from core.documentos.chave import chave_valida, somente_documento, validar_cnpj
from core.models import CTe, NFe, Organizacao, OutroDocumento, TipoDocumento
from core.tenancy import escopo

TAMANHO_CHAVE = 44
MINIMO_PARTE_CHAVE = 6
MAXIMO_NUMERO = 9
MINIMO_NOME = 3
RANK_CHAVE, RANK_EXATO, RANK_PARCIAL = 0, 1, 2
CAMPOS = ("id", "chave", "numero", "serie", "data_emissao", "emitente_nome", "emitente_documento", "situacao")
_DIGITOS = re.compile(r"[0-9]+")


class BuscaInvalida(ValueError):
    """The text cannot be searched; the message (Portuguese) says why."""


@dataclass(frozen=True)
class Termo:
    """What a search text can mean; a field is None when the text cannot be that."""

    chave: str | None = None
    numero: int | None = None
    documento: str | None = None
    parte_chave: str | None = None
    nome: str | None = None


@dataclass(frozen=True)
class _Alvo:
    tipo: str
    modelo: type
    campo_valor: str
    # Only the documents with an (organizacao, <field>, data_emissao, id) index: each exact lookup walks
    # its index newest first and stops at `limite` rows.
    campos_documento: tuple[str, ...]
    campos_nome: tuple[str, ...]


ALVOS = (
    _Alvo(
        tipo=TipoDocumento.NFE,
        modelo=NFe,
        campo_valor="valor_total",
        campos_documento=("emitente_documento", "destinatario_documento"),
        campos_nome=("emitente_nome", "destinatario_nome"),
    ),
    _Alvo(
        tipo=TipoDocumento.CTE,
        modelo=CTe,
        campo_valor="valor_prestacao",
        campos_documento=("emitente_documento", "destinatario_documento", "tomador_documento"),
        campos_nome=("emitente_nome", "destinatario_nome", "tomador_nome"),
    ),
)

# Not in ALVOS: /api/buscar/ answers NF-e and CT-e only; the admin searches its other documents alike.
ALVO_OUTRO = _Alvo(
    tipo="outro",
    modelo=OutroDocumento,
    campo_valor="valor_total",
    campos_documento=("emitente_documento", "destinatario_documento"),
    campos_nome=("emitente_nome", "destinatario_nome"),
)
_ALVO_DO_MODELO = {alvo.modelo: alvo for alvo in (*ALVOS, ALVO_OUTRO)}


def interpretar(texto: str) -> Termo:
    """Read a search text; raises BuscaInvalida when it is empty, too short or too long."""
    texto = texto.strip()
    compacto = somente_documento(texto)  # masks (., /, -, spaces) out, upper case
    if not compacto:
        raise BuscaInvalida("Informe o que buscar.")
    if _DIGITOS.fullmatch(compacto):
        return _interpretar_digitos(compacto)
    if len(compacto) == 14 and validar_cnpj(compacto):
        return Termo(documento=compacto)  # alphanumeric CNPJ (2026)
    if len(compacto) == TAMANHO_CHAVE and chave_valida(compacto):
        return Termo(chave=compacto)  # key of an alphanumeric-CNPJ emitter
    if len(texto) < MINIMO_NOME:
        raise BuscaInvalida(f"Para buscar por nome, informe ao menos {MINIMO_NOME} caracteres.")
    return Termo(nome=texto)


def _interpretar_digitos(digitos: str) -> Termo:
    if len(digitos) > TAMANHO_CHAVE:
        raise BuscaInvalida(f"Uma chave de acesso tem {TAMANHO_CHAVE} dígitos.")
    if len(digitos) == TAMANHO_CHAVE:
        return Termo(chave=digitos)
    numero = int(digitos) if len(digitos) <= MAXIMO_NUMERO and int(digitos) > 0 else None
    termo = Termo(
        numero=numero,
        documento=digitos if len(digitos) in (11, 14) else None,
        parte_chave=digitos if len(digitos) >= MINIMO_PARTE_CHAVE else None,
    )
    if termo == Termo():
        raise BuscaInvalida("O número do documento deve ser maior que zero.")
    return termo


def buscar(*, organizacao: Organizacao, termo: Termo, limite: int) -> list[dict]:
    """Up to `limite` documents of `organizacao` matching `termo`, best first."""
    encontrados = []
    rank = RANK_CHAVE if termo.chave else RANK_EXATO
    for alvo in ALVOS:
        encontrados += _consultar_cada(escopo(alvo.modelo, organizacao), _exatas(alvo, termo), alvo, rank, limite)
    if len(encontrados) < limite:
        for alvo in ALVOS:
            parciais, exatos = _parciais(alvo, termo), _exatos(alvo, termo)
            if parciais is not None:
                documentos = escopo(alvo.modelo, organizacao).filter(parciais)
                if exatos is not None:
                    documentos = documentos.exclude(exatos)  # already listed with a better rank
                encontrados += _consultar(documentos, alvo, RANK_PARCIAL, limite)
    encontrados.sort(key=lambda d: d["data_emissao"], reverse=True)
    encontrados.sort(key=lambda d: d["rank"])  # stable: newest first within a rank
    return encontrados[:limite]


def condicao(modelo: type, termo: Termo) -> Q:
    """The exact and partial matches of `termo` on `modelo` (NFe, CTe or OutroDocumento) as one filter."""
    alvo = _ALVO_DO_MODELO[modelo]
    return _ou([q for q in (_exatos(alvo, termo), _parciais(alvo, termo)) if q is not None]) or Q(pk__in=[])


def _exatos(alvo: _Alvo, termo: Termo) -> Q | None:
    return _ou(_exatas(alvo, termo))


def _exatas(alvo: _Alvo, termo: Termo) -> list[Q]:
    """One condition per indexed field; OR them with _ou() for a single filter."""
    condicoes = []
    if termo.chave:
        condicoes.append(Q(chave=termo.chave))
    if termo.numero:
        condicoes.append(Q(numero=termo.numero))
    if termo.documento:
        condicoes += [Q(**{campo: termo.documento}) for campo in alvo.campos_documento]
    return condicoes


def _parciais(alvo: _Alvo, termo: Termo) -> Q | None:
    condicoes = []
    if termo.parte_chave:
        condicoes.append(Q(chave__contains=termo.parte_chave))
    if termo.nome:
        condicoes += [Q(**{f"{campo}__icontains": termo.nome}) for campo in alvo.campos_nome]
    return _ou(condicoes)


def _ou(condicoes: list[Q]) -> Q | None:
    if not condicoes:
        return None
    resultado = condicoes[0]
    for condicao in condicoes[1:]:
        resultado |= condicao
    return resultado


def _consultar_cada(documentos: QuerySet, condicoes: list[Q], alvo: _Alvo, rank: int, limite: int) -> list[dict]:
    """The newest `limite` documents matching any of `condicoes`, as one OR query would list them.

    An OR over two columns cannot walk one index in date order: the database either reads the date index
    and filters every row (the whole table for a CNPJ with few documents) or fetches every match and sorts
    it. One query per field walks (organizacao, <field>, data_emissao, id) and stops at `limite` rows.
    """
    unicos = {}
    for condicao in condicoes:
        unicos.update((linha["id"], linha) for linha in _consultar(documentos.filter(condicao), alvo, rank, limite))
    linhas = sorted(unicos.values(), key=lambda linha: (linha["data_emissao"], linha["id"]), reverse=True)
    return linhas[:limite]


def _consultar(documentos: QuerySet, alvo: _Alvo, rank: int, limite: int) -> list[dict]:
    linhas = documentos.order_by("-data_emissao", "-id").values(*CAMPOS, valor=F(alvo.campo_valor))[:limite]
    return [{"tipo": alvo.tipo.value, "rank": rank, **linha} for linha in linhas]
