"""DistDFe summaries (``resNFe``, ``resEvento``) and the ZIP customers upload batches in."""

from __future__ import annotations

import base64
import io
import random
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree

from core.documentos.chave import CODIGO_POR_UF
from core.documentos.xmldsig import digest_value_de

from .comum import (
    _N,
    _NS_XSD,
    _NS_XSI,
    NS_NFE,
    DocumentoGerado,
    _campos,
    _chave,
    _cnpj,
    _data_evento_padrao,
    _data_padrao,
    _dh,
    _dinheiro,
    _ie,
    _nome_empresa,
    _protocolo,
    _serializar,
    _tag_documento,
    _v,
)
from .eventos import DESCRICOES_EVENTO_NFE


def gerar_resumo_nfe(
    *,
    nfe: DocumentoGerado | None = None,
    chave: str | None = None,
    emitente_cnpj: str | None = None,
    nome: str | None = None,
    ie: str | None = None,
    valor: Decimal | None = None,
    situacao: int = 1,
    tipo_operacao: str | None = None,
    data_emissao: datetime | None = None,
    digest_value: str | None = None,
    protocolo: str | None = None,
    data_recebimento: datetime | None = None,
    rng: random.Random | None = None,
) -> DocumentoGerado:
    """An unsigned ``resNFe`` 1.01 as DistDFe delivers it (``cSitNFe``: 1 autorizada, 2 denegada, 3 cancelada).

    With ``nfe`` (a generated ``nfeProc``) every field is taken from it, so summary and full document
    agree; explicit arguments still win.
    """
    rng = rng or random.Random()
    base = _dados_nfe(nfe) if nfe is not None else {}
    chave = chave or base.get("chave")
    if chave is None:
        emitente_cnpj = emitente_cnpj or _cnpj(rng)
        chave = _chave_nfe_aleatoria(rng, emitente_cnpj, data_emissao or _data_padrao(rng))
    emitente = emitente_cnpj or base.get("emitente") or chave[6:20]
    dh_emi = data_emissao or base.get("dhEmi") or _data_padrao(rng)
    dh_recbto = data_recebimento or base.get("dhRecbto") or dh_emi + timedelta(seconds=rng.randint(2, 120))
    tipo = tipo_operacao or base.get("tipo") or "saida"
    return _resumo("resNFe", chave, [
        ("chNFe", chave), (_tag_documento(emitente), emitente),
        ("xNome", nome or base.get("xNome") or _nome_empresa(rng)), ("IE", ie or base.get("IE") or _ie(rng)),
        ("dhEmi", _dh(dh_emi)), ("tpNF", "1" if tipo == "saida" else "0"),
        ("vNF", _v(Decimal(valor)) if valor is not None else base.get("vNF") or _v(_dinheiro(rng, 50, 50000))),
        ("digVal", digest_value or base.get("digVal") or base64.b64encode(rng.randbytes(20)).decode()),
        ("dhRecbto", _dh(dh_recbto)),
        ("nProt", protocolo or base.get("nProt") or _protocolo(rng, chave[:2], chave[2:4])),
        ("cSitNFe", situacao),
    ])  # fmt: skip


def gerar_resumo_evento(
    *,
    chave: str | None = None,
    tipo_evento: str = "110111",
    sequencia: int = 1,
    autor_documento: str | None = None,
    descricao: str | None = None,
    orgao: str | None = None,
    data_evento: datetime | None = None,
    protocolo: str | None = None,
    data_recebimento: datetime | None = None,
    rng: random.Random | None = None,
) -> DocumentoGerado:
    """An unsigned ``resEvento`` 1.01 (the summary of an NF-e event sent to the other parties)."""
    rng = rng or random.Random()
    chave = chave or _chave_nfe_aleatoria(rng, _cnpj(rng), _data_padrao(rng))
    descricao = descricao or DESCRICOES_EVENTO_NFE.get(tipo_evento)
    if descricao is None:
        raise ValueError(f"informe a descricao do evento {tipo_evento}")
    orgao = orgao or ("91" if tipo_evento.startswith("2102") else chave[:2])
    autor = autor_documento or chave[6:20]
    dh_evento = data_evento or _data_evento_padrao(rng)
    dh_recbto = data_recebimento or dh_evento + timedelta(seconds=rng.randint(1, 60))
    return _resumo("resEvento", chave, [
        ("cOrgao", orgao), (_tag_documento(autor), autor), ("chNFe", chave), ("dhEvento", _dh(dh_evento)),
        ("tpEvento", tipo_evento), ("nSeqEvento", sequencia), ("xEvento", descricao),
        ("dhRecbto", _dh(dh_recbto)), ("nProt", protocolo or _protocolo(rng, orgao, dh_evento.strftime("%y"))),
    ])  # fmt: skip


def gerar_lote_zip(
    documentos: Iterable[DocumentoGerado],
    nome_arquivo: Callable[[DocumentoGerado], str] = lambda d: f"{d.chave}.xml",
) -> bytes:
    """A ZIP (in memory) with one XML per document, as customers upload batches."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as arquivo:
        for documento in documentos:
            arquivo.writestr(nome_arquivo(documento), documento.xml)
    return buffer.getvalue()


def _resumo(tag: str, chave: str, campos: list[tuple[str, object]]) -> DocumentoGerado:
    res = etree.Element(_N + tag, versao="1.01", nsmap={None: NS_NFE, "xsd": _NS_XSD, "xsi": _NS_XSI})
    _campos(res, _N, campos)
    return DocumentoGerado(chave, _serializar(res))


def _chave_nfe_aleatoria(rng, emitente: str, data: datetime) -> str:
    return _chave(rng, rng.choice(list(CODIGO_POR_UF.values())), data, emitente, "55", 1, None)


def _dados_nfe(documento: DocumentoGerado) -> dict:
    raiz = etree.fromstring(documento.xml)
    ns = {"n": NS_NFE}

    def texto(caminho: str) -> str | None:
        return raiz.findtext(caminho, namespaces=ns)

    emitente = texto(".//n:emit/n:CNPJ") or texto(".//n:emit/n:CPF")
    return {
        "chave": documento.chave,
        "emitente": emitente,
        "xNome": texto(".//n:emit/n:xNome"),
        "IE": texto(".//n:emit/n:IE"),
        "dhEmi": datetime.fromisoformat(texto(".//n:ide/n:dhEmi")),
        "tipo": "saida" if texto(".//n:ide/n:tpNF") == "1" else "entrada",
        "vNF": texto(".//n:total/n:ICMSTot/n:vNF"),
        "digVal": texto(".//n:protNFe/n:infProt/n:digVal") or digest_value_de(raiz.find(".//n:infNFe", ns)),
        "dhRecbto": _data_ou_none(texto(".//n:protNFe/n:infProt/n:dhRecbto")),
        "nProt": texto(".//n:protNFe/n:infProt/n:nProt"),
    }


def _data_ou_none(texto: str | None) -> datetime | None:
    return datetime.fromisoformat(texto) if texto else None
