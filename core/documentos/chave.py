"""Chave de acesso (44 characters) of NF-e, NFC-e, CT-e, CT-e OS and GTV-e, plus CNPJ/CPF check digits.

Layout (NT Conjunta 2025.001 §5): cUF(2) AAMM(4) CNPJ/CPF(14) mod(2) serie(3) numero(9) tpEmis(1)
codigo numerico(8) DV(1). Letters are allowed only in the 12 root positions of the CNPJ (alphanumeric
CNPJ, 2026); every check digit maps a character to ``ord(c) - 48`` so the numeric rule is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# IBGE codes of the 27 federation units (the only valid cUF in a key; 91 = AN is an orgão, not a UF).
UF_POR_CODIGO: dict[str, str] = {
    "11": "RO", "12": "AC", "13": "AM", "14": "RR", "15": "PA", "16": "AP", "17": "TO",
    "21": "MA", "22": "PI", "23": "CE", "24": "RN", "25": "PB", "26": "PE", "27": "AL",
    "28": "SE", "29": "BA", "31": "MG", "32": "ES", "33": "RJ", "35": "SP", "41": "PR",
    "42": "SC", "43": "RS", "50": "MS", "51": "MT", "52": "GO", "53": "DF",
}  # fmt: skip
CODIGO_POR_UF: dict[str, str] = {uf: codigo for codigo, uf in UF_POR_CODIGO.items()}

MODELOS: dict[str, str] = {"55": "NF-e", "65": "NFC-e", "57": "CT-e", "67": "CT-e OS", "64": "GTV-e"}

_PADRAO_CHAVE = re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}")
_PADRAO_CNPJ = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_PADRAO_CPF = re.compile(r"[0-9]{11}")
_MASCARA = re.compile(r"[\s./-]")
_PESOS_CNPJ = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


class ChaveInvalida(ValueError):
    """The key is malformed; the message (Portuguese) says which part is wrong."""


@dataclass(frozen=True)
class ChaveDecomposta:
    chave: str
    codigo_uf: str  # "35"
    ano_mes: str  # "AAMM" of dhEmi
    cnpj_emitente: str  # 14 chars; a CPF emitter appears left-padded with zeros
    modelo: str  # "55", "65", "57", "67", "64"
    serie: int
    numero: int
    tipo_emissao: str
    codigo_numerico: str  # cNF / cCT
    digito: int

    @property
    def uf(self) -> str:
        return UF_POR_CODIGO[self.codigo_uf]


def _mod11(valores: str, pesos) -> int:
    soma = sum((ord(c) - 48) * p for c, p in zip(valores, pesos, strict=False))
    resto = soma % 11
    return 0 if resto < 2 else 11 - resto


def _pesos_chave(tamanho: int) -> list[int]:
    # Weights 2..9 from the rightmost character, cycling.
    return [2 + (i % 8) for i in range(tamanho)][::-1]


_PESOS_CHAVE = _pesos_chave(43)


def calcular_digito(chave43: str) -> int:
    """Check digit (módulo 11, weights 2..9 from the right) of the first 43 characters of a key."""
    if len(chave43) != 43:
        raise ChaveInvalida(f"chave sem dígito deve ter 43 caracteres, tem {len(chave43)}")
    return _mod11(chave43, _PESOS_CHAVE)


def decompor_chave(chave: str) -> ChaveDecomposta:
    """Split a key into its fields, raising ChaveInvalida with the first problem found."""
    if len(chave) != 44:
        raise ChaveInvalida(f"chave deve ter 44 caracteres, tem {len(chave)}")
    if not _PADRAO_CHAVE.fullmatch(chave):
        raise ChaveInvalida(
            f"chave {chave} tem caracteres inválidos (letras só são aceitas na raiz do CNPJ)"
        )
    codigo_uf, mes, modelo, numero = chave[0:2], chave[4:6], chave[20:22], int(chave[25:34])
    if codigo_uf not in UF_POR_CODIGO:
        raise ChaveInvalida(f"UF {codigo_uf} inválida")
    if not 1 <= int(mes) <= 12:
        raise ChaveInvalida(f"mês {mes} inválido")
    if modelo not in MODELOS:
        raise ChaveInvalida(f"modelo {modelo} não é NF-e/CT-e")
    if numero == 0:
        raise ChaveInvalida("número do documento não pode ser zero")
    esperado, digito = calcular_digito(chave[:43]), int(chave[43])
    if digito != esperado:
        raise ChaveInvalida(f"chave {chave} tem dígito verificador {digito}, esperado {esperado}")
    return ChaveDecomposta(
        chave=chave,
        codigo_uf=codigo_uf,
        ano_mes=chave[2:6],
        cnpj_emitente=chave[6:20],
        modelo=modelo,
        serie=int(chave[22:25]),
        numero=numero,
        tipo_emissao=chave[34],
        codigo_numerico=chave[35:43],
        digito=digito,
    )


def chave_valida(chave: str) -> bool:
    try:
        decompor_chave(chave)
    except ChaveInvalida:
        return False
    return True


def montar_chave(
    codigo_uf: str | int,
    ano_mes: str,
    cnpj: str,
    modelo: str | int,
    serie: int | str,
    numero: int | str,
    tipo_emissao: str | int,
    codigo_numerico: str | int,
) -> str:
    """Build a key from its fields and append the check digit; a CPF is left-padded to 14."""
    chave43 = (
        f"{int(codigo_uf):02d}{ano_mes}{somente_documento(cnpj).zfill(14)}{int(modelo):02d}"
        f"{int(serie):03d}{int(numero):09d}{tipo_emissao}{int(codigo_numerico):08d}"
    )
    chave = chave43 + str(calcular_digito(chave43))
    decompor_chave(chave)  # refuse to build a key the readers would reject
    return chave


def somente_documento(texto: str) -> str:
    """Strip a CNPJ/CPF mask (., /, -, spaces) and upper-case it (alphanumeric CNPJ)."""
    return _MASCARA.sub("", texto).upper()


def digitos_cnpj(raiz12: str) -> str:
    """The two check digits of a 12-character CNPJ base (numeric or alphanumeric)."""
    dv1 = _mod11(raiz12, _PESOS_CNPJ[1:])
    dv2 = _mod11(raiz12 + str(dv1), _PESOS_CNPJ)
    return f"{dv1}{dv2}"


def digitos_cpf(base9: str) -> str:
    dv1 = _mod11(base9, range(10, 1, -1))
    dv2 = _mod11(base9 + str(dv1), range(11, 1, -1))
    return f"{dv1}{dv2}"


def validar_cnpj(cnpj: str) -> bool:
    """True for a well-formed CNPJ (14 chars, root may have letters) whose check digits match.

    Expects an unmasked value: normalise with ``somente_documento`` first, so lower case or a
    misplaced mask is not silently accepted.
    """
    if not _PADRAO_CNPJ.fullmatch(cnpj) or len(set(cnpj)) == 1:
        return False
    return digitos_cnpj(cnpj[:12]) == cnpj[12:]


def validar_cpf(cpf: str) -> bool:
    if not _PADRAO_CPF.fullmatch(cpf) or len(set(cpf)) == 1:
        return False
    return digitos_cpf(cpf[:9]) == cpf[9:]
