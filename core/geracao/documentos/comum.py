"""What every generator shares: namespaces, parties, random data, XML, key and protocol helpers."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from core.documentos.chave import digitos_cnpj, digitos_cpf, montar_chave
from core.geracao.certificado import CertificadoGerado

NS_NFE = "http://www.portalfiscal.inf.br/nfe"
NS_CTE = "http://www.portalfiscal.inf.br/cte"
_NS_XSD = "http://www.w3.org/2001/XMLSchema"
_NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_N = f"{{{NS_NFE}}}"
_C = f"{{{NS_CTE}}}"

FUSO = timezone(timedelta(hours=-3))  # Brasília, no DST since 2019
_DECLARACAO = b'<?xml version="1.0" encoding="UTF-8"?>'
_CENTAVO = Decimal("0.01")
_ZERO = Decimal("0.00")

# Capital of each UF: IBGE municipality code (its first two digits are the UF code), name, CEP prefix.
_CAPITAIS = {
    "RO": ("1100205", "PORTO VELHO", "76"), "AC": ("1200401", "RIO BRANCO", "69"),
    "AM": ("1302603", "MANAUS", "69"), "RR": ("1400100", "BOA VISTA", "69"),
    "PA": ("1501402", "BELEM", "66"), "AP": ("1600303", "MACAPA", "68"),
    "TO": ("1721000", "PALMAS", "77"), "MA": ("2111300", "SAO LUIS", "65"),
    "PI": ("2211001", "TERESINA", "64"), "CE": ("2304400", "FORTALEZA", "60"),
    "RN": ("2408102", "NATAL", "59"), "PB": ("2507507", "JOAO PESSOA", "58"),
    "PE": ("2611606", "RECIFE", "50"), "AL": ("2704302", "MACEIO", "57"),
    "SE": ("2800308", "ARACAJU", "49"), "BA": ("2927408", "SALVADOR", "40"),
    "MG": ("3106200", "BELO HORIZONTE", "30"), "ES": ("3205309", "VITORIA", "29"),
    "RJ": ("3304557", "RIO DE JANEIRO", "20"), "SP": ("3550308", "SAO PAULO", "01"),
    "PR": ("4106902", "CURITIBA", "80"), "SC": ("4205407", "FLORIANOPOLIS", "88"),
    "RS": ("4314902", "PORTO ALEGRE", "90"), "MS": ("5002704", "CAMPO GRANDE", "79"),
    "MT": ("5103403", "CUIABA", "78"), "GO": ("5208707", "GOIANIA", "74"),
    "DF": ("5300108", "BRASILIA", "70"),
}  # fmt: skip
_RUAS = ("RUA DAS FLORES", "AVENIDA BRASIL", "RUA XV DE NOVEMBRO", "AVENIDA DAS INDUSTRIAS",
         "RUA SETE DE SETEMBRO", "RODOVIA BR 116 KM 12", "RUA DO COMERCIO", "AVENIDA CENTRAL")  # fmt: skip
_BAIRROS = ("CENTRO", "JARDIM AMERICA", "VILA NOVA", "DISTRITO INDUSTRIAL", "SAO JOSE", "BOA VISTA")
_EMPRESAS = ("COMERCIAL", "DISTRIBUIDORA", "INDUSTRIA", "ATACADO", "MERCADO", "CONSTRUTORA")
_NOMES_FANTASIA = ("ALFA", "BOA ESPERANCA", "SANTA CRUZ", "PAULISTA", "NORDESTE", "HORIZONTE", "ESTRELA",
                   "UNIAO", "PIONEIRA", "SAO JORGE")  # fmt: skip
_SUFIXOS = ("LTDA", "S/A", "EIRELI", "ME")
_PESSOAS = ("MARIA", "JOSE", "ANA", "JOAO", "FRANCISCA", "ANTONIO", "LUCIA", "PEDRO", "JULIANA")
_SOBRENOMES = ("SILVA", "SANTOS", "OLIVEIRA", "SOUZA", "PEREIRA", "LIMA", "COSTA", "FERREIRA")


@dataclass(frozen=True)
class DocumentoGerado:
    chave: str
    xml: bytes


@dataclass(frozen=True)
class _Parte:
    tipo: str  # "CNPJ", "CPF" or "idEstrangeiro"
    documento: str
    nome: str
    ie: str | None
    uf: str
    codigo_municipio: str
    municipio: str
    logradouro: str
    numero: str
    bairro: str
    cep: str
    fone: str


# ---------------------------------------------------------------------------------------------- XML


def _campos(pai: etree._Element, ns: str, campos: Iterable[tuple[str, object]]) -> None:
    """Append simple text children in order; None values are optional fields left out."""
    for tag, valor in campos:
        if valor is not None:
            etree.SubElement(pai, ns + tag).text = str(valor)


def _serializar(raiz: etree._Element) -> bytes:
    # lxml writes the declaration with single quotes; SEFAZ files use double quotes.
    return _DECLARACAO + etree.tostring(raiz, encoding="UTF-8")


def _processo(documento: etree._Element, ns: str, tag_proc: str, tag_retorno: str, versao: str) -> etree._Element:
    """Wrap a signed document in its ``*Proc`` envelope and return the (empty) SEFAZ answer element after it."""
    proc = etree.Element(ns + tag_proc, versao=versao, nsmap={None: ns[1:-1]})
    proc.append(documento)
    return etree.SubElement(proc, ns + tag_retorno, versao=versao)


# --------------------------------------------------------------------------------- keys, protocols


def _chave(rng, codigo_uf: str, data: datetime, emitente: str, modelo: str, serie: int, numero: int | None) -> str:
    return montar_chave(codigo_uf, data.strftime("%y%m"), emitente, modelo, serie,
                        numero or rng.randint(1, 999_999), "1", rng.randint(10_000_000, 99_999_999))  # fmt: skip


def _protocolo(rng, orgao: str, ano: str) -> str:
    # 15 digits: 1 (NF-e/CT-e authorizer) or 8 (Ambiente Nacional), cUF/cOrgao, year, sequence.
    prefixo = "8" if orgao == "91" else "1"
    return f"{prefixo}{orgao}{ano}{rng.randint(0, 10**10 - 1):010d}"


def _inf_prot(prot, ns, tag_chave, chave, ambiente, dh_emi, rng, digest, codigo_status, motivo, ver_aplic):
    numero = _protocolo(rng, chave[:2], dh_emi.strftime("%y"))
    inf = etree.SubElement(prot, ns + "infProt", Id=f"ID{numero}")
    _campos(inf, ns, [
        ("tpAmb", ambiente), ("verAplic", ver_aplic), (tag_chave, chave),
        ("dhRecbto", _dh(dh_emi + timedelta(seconds=rng.randint(2, 120)))), ("nProt", numero),
        ("digVal", digest), ("cStat", codigo_status), ("xMotivo", motivo),
    ])  # fmt: skip


# ------------------------------------------------------------------------------------------ parties


def _emitente(rng, certificado: CertificadoGerado, cnpj: str | None, cpf: str | None, nome: str | None,
              uf: str) -> _Parte:  # fmt: skip
    if cpf or (not cnpj and certificado.cpf and not certificado.cnpj):
        tipo, documento = "CPF", cpf or certificado.cpf
    else:
        tipo, documento = "CNPJ", cnpj or certificado.cnpj
    if not documento:
        raise ValueError("informe o documento do emitente")
    if nome is None and documento == certificado.documento:
        nome = certificado.nome
    return _parte_por_documento(tipo, documento, uf, nome, contribuinte=True)


def _parte(rng, documento: str | None, uf: str) -> _Parte:
    documento = documento or _cnpj(rng)
    return _parte_por_documento(_tag_documento(documento), documento, uf)


def _parte_por_documento(tipo: str, documento: str, uf: str, nome: str | None = None,
                         contribuinte: bool = False) -> _Parte:  # fmt: skip
    # Name, IE and street derive from the document, so a CNPJ looks the same in every document.
    r = random.Random(documento)
    pessoa = tipo == "CPF"
    nome = nome or (_nome_pessoa(r) if pessoa else _nome_empresa(r))
    ie = _ie(r) if contribuinte or tipo == "CNPJ" else None
    numero, fone = str(r.randint(1, 4000)), f"{r.randint(11, 99)}{r.randint(30_000_000, 39_999_999)}"
    if uf == "EX":
        return _Parte(tipo, documento, nome, None, "EX", "9999999", "EXTERIOR", "5TH AVENUE", numero,
                      "MANHATTAN", "", fone)  # fmt: skip
    codigo_municipio, municipio, cep = _CAPITAIS[uf]
    return _Parte(
        tipo=tipo, documento=documento, nome=nome, ie=ie, uf=uf, codigo_municipio=codigo_municipio,
        municipio=municipio, logradouro=r.choice(_RUAS), numero=numero, bairro=r.choice(_BAIRROS),
        cep=f"{cep}{r.randint(0, 999_999):06d}", fone=fone,
    )  # fmt: skip


def _tag_documento(documento: str) -> str:
    return "CPF" if len(documento) == 11 else "CNPJ"


# -------------------------------------------------------------------------------------- random data


def _cnpj(rng) -> str:
    raiz = f"{rng.randint(1_000_000, 99_999_999):08d}0001"
    return raiz + digitos_cnpj(raiz)


def _cpf(rng) -> str:
    base = f"{rng.randint(1_000_000, 999_999_998):09d}"
    return base + digitos_cpf(base)


def _ie(rng) -> str:
    return f"{rng.randint(10**11, 10**12 - 1)}"


def _nome_empresa(rng) -> str:
    return f"{rng.choice(_EMPRESAS)} {rng.choice(_NOMES_FANTASIA)} {rng.choice(_SUFIXOS)}"


def _nome_pessoa(rng) -> str:
    return f"{rng.choice(_PESSOAS)} {rng.choice(_SOBRENOMES)} {rng.choice(_SOBRENOMES)}"


def _dinheiro(rng, minimo: int, maximo: int) -> Decimal:
    return Decimal(rng.randint(minimo * 100, maximo * 100)) / 100


def _percentual(base: Decimal, aliquota: Decimal) -> Decimal:
    return (base * aliquota / 100).quantize(_CENTAVO, ROUND_HALF_UP)


def _v(valor: Decimal) -> str:
    return f"{valor:.2f}"


# -------------------------------------------------------------------------------------------- dates


def _dh(momento: datetime) -> str:
    return momento.astimezone(FUSO).isoformat(timespec="seconds")


def _hoje() -> datetime:
    return datetime.now(FUSO).replace(hour=0, minute=0, second=0, microsecond=0)


def _data_padrao(rng) -> datetime:
    # Recent, business-hours dates, anchored on today so that within a day a seed gives the same
    # documents; pass data_emissao for full determinism.
    return _hoje() - timedelta(days=rng.randint(1, 60)) + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))


def _data_evento_padrao(rng) -> datetime:
    # Yesterday evening: after any default document date (at most yesterday 18:00), never in the future.
    return _hoje() - timedelta(seconds=rng.randint(1, 6 * 3600))
