"""GTV-e (mod 64) and CT-e Simplificado (mod 57, tpCTe 5/6) 4.00, as CTeDistribuicaoDFe delivers them.

Element order and values follow the official PL_CTe_400 schemas (nfelib 3.2.0, ``cteTiposBasico_v4.00.xsd``:
``TGTVe``, ``TCTeSimp``; ``procGTVe_v4.00.xsd``: ``GTVeProc`` > ``GTVe`` + ``protCTe``;
``procCTeSimp_v4.00.xsd``: ``cteSimpProc`` > ``CTeSimp`` + ``protCTe``). Both carry ``infCte`` with
Id "CTe" + chave and the same signature profile as the CT-e (``_finalizar_cte``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree

from core.documentos.chave import CODIGO_POR_UF
from core.geracao.certificado import CertificadoGerado

from .comum import (
    _C,
    _CAPITAIS,
    NS_CTE,
    DocumentoGerado,
    _campos,
    _chave,
    _data_padrao,
    _dh,
    _dinheiro,
    _emitente,
    _parte,
    _percentual,
    _v,
)
from .cte import _emit_cte, _endereco_cte, _finalizar_cte, _parte_cte

_ESPECIES = ("1", "2", "3", "4")  # cédula, moeda, cheque, outros (TGTVe/detGTV/infEspecie/tpEspecie)


def gerar_gtve(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    emitente_cnpj: str | None = None,
    emitente_nome: str | None = None,
    remetente_documento: str | None = None,
    destinatario_documento: str | None = None,
    uf_inicio: str = "SP",
    uf_fim: str = "SP",
    serie: int = 1,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    valor: Decimal | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """A GTV-e (Guia de Transporte de Valores, mod 64): ``GTVeProc`` > ``GTVe`` + ``protCTe``.

    The remetente is the tomador (ide/toma/toma = 0); ``valor`` is the cash carried (detGTV/infEspecie).
    """
    rng = rng or random.Random()
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, None, emitente_nome, uf_inicio)
    rem = _parte(rng, remetente_documento, uf_inicio)
    dest = _parte(rng, destinatario_documento, uf_fim)
    chave = _chave(rng, CODIGO_POR_UF[emit.uf], dh_emi, emit.documento, "64", serie, numero)

    gtve = etree.Element(_C + "GTVe", versao="4.00", nsmap={None: NS_CTE})
    inf = etree.SubElement(gtve, _C + "infCte", versao="4.00", Id="CTe" + chave)
    ide = etree.SubElement(inf, _C + "ide")
    _campos(ide, _C, [
        ("cUF", chave[:2]), ("cCT", chave[35:43]), ("CFOP", "5359" if uf_inicio == uf_fim else "6359"),
        ("natOp", "TRANSPORTE DE VALORES"), ("mod", "64"), ("serie", int(chave[22:25])),
        ("nCT", int(chave[25:34])), ("dhEmi", _dh(dh_emi)), ("tpImp", "1"), ("tpEmis", chave[34]),
        ("cDV", chave[43]), ("tpAmb", ambiente), ("tpCTe", "4"), ("verProc", "FISCAL-GERADOR 1.0"),
        ("cMunEnv", emit.codigo_municipio), ("xMunEnv", emit.municipio), ("UFEnv", emit.uf), ("modal", "01"),
        ("tpServ", "9"), ("indIEToma", "1" if rem.ie else "9"), ("dhSaidaOrig", _dh(dh_emi)),
        ("dhChegadaDest", _dh(dh_emi + timedelta(hours=rng.randint(1, 8)))),
    ])  # fmt: skip
    _campos(etree.SubElement(ide, _C + "toma"), _C, [("toma", "0")])
    _emit_gtve(inf, emit)
    _parte_cte(etree.SubElement(inf, _C + "rem"), rem, "enderReme")
    _parte_cte(etree.SubElement(inf, _C + "dest"), dest, "enderDest")
    total = Decimal(valor) if valor is not None else _dinheiro(rng, 5_000, 900_000)
    det = etree.SubElement(inf, _C + "detGTV")
    _campos(etree.SubElement(det, _C + "infEspecie"), _C, [
        ("tpEspecie", rng.choice(_ESPECIES)), ("vEspecie", _v(total)), ("tpNumerario", "1"),
    ])  # fmt: skip
    _campos(det, _C, [("qCarga", f"{rng.randint(1, 300)}.0000")])
    _campos(etree.SubElement(det, _C + "infVeiculo"), _C, [
        ("placa", f"{''.join(rng.choices('ABCDEFGHJKLMNPRSTUVWXYZ', k=3))}{rng.randint(0, 9)}"
                  f"{rng.choice('ABCDEFGHIJ')}{rng.randint(10, 99)}"),
        ("UF", uf_inicio),
    ])  # fmt: skip
    return _finalizar_cte(gtve, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                          algoritmo, "GTVeProc", emit.uf)  # fmt: skip


def gerar_cte_simplificado(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    tipo_cte: str = "5",
    chaves_nfe: Sequence[str] = (),
    chave_substituida: str | None = None,
    emitente_cnpj: str | None = None,
    emitente_nome: str | None = None,
    tomador_documento: str | None = None,
    uf_inicio: str = "SP",
    uf_fim: str = "RJ",
    serie: int = 1,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    valores: Sequence[Decimal] | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """A CT-e Simplificado (mod 57): ``cteSimpProc`` > ``CTeSimp`` + ``protCTe``.

    ``tipo_cte`` "5" (simplificado) or "6" (substituição, which names ``chave_substituida`` in
    infCteSub). One ``det`` per value in ``valores`` (default: two deliveries), each with the NF-e of
    ``chaves_nfe`` (or a random key); the remetente is the tomador (toma/toma = 0).
    """
    if tipo_cte not in ("5", "6"):
        raise ValueError("tipo_cte deve ser 5 (CT-e Simplificado) ou 6 (substituição)")
    rng = rng or random.Random()
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, None, emitente_nome, uf_inicio)
    toma = _parte(rng, tomador_documento, uf_inicio)
    chave = _chave(rng, CODIGO_POR_UF[emit.uf], dh_emi, emit.documento, "57", serie, numero)
    parcelas = [Decimal(v) for v in valores] if valores else [_dinheiro(rng, 80, 4000) for _ in range(2)]
    emitente_nfe = toma.documento if toma.tipo == "CNPJ" else emit.documento
    chaves = list(chaves_nfe) or [_chave(rng, CODIGO_POR_UF[uf_inicio], dh_emi, emitente_nfe, "55", 1, None)]

    cte = etree.Element(_C + "CTeSimp", nsmap={None: NS_CTE})  # versao only on infCte (TCTeSimp)
    inf = etree.SubElement(cte, _C + "infCte", versao="4.00", Id="CTe" + chave)
    _campos(etree.SubElement(inf, _C + "ide"), _C, [
        ("cUF", chave[:2]), ("cCT", chave[35:43]), ("CFOP", "6353" if uf_inicio != uf_fim else "5353"),
        ("natOp", "PRESTACAO DE SERVICO DE TRANSPORTE"), ("mod", "57"), ("serie", int(chave[22:25])),
        ("nCT", int(chave[25:34])), ("dhEmi", _dh(dh_emi)), ("tpImp", "1"), ("tpEmis", chave[34]),
        ("cDV", chave[43]), ("tpAmb", ambiente), ("tpCTe", tipo_cte), ("procEmi", "0"),
        ("verProc", "FISCAL-GERADOR 1.0"), ("cMunEnv", emit.codigo_municipio), ("xMunEnv", emit.municipio),
        ("UFEnv", emit.uf), ("modal", "01"), ("tpServ", "0"), ("UFIni", uf_inicio), ("UFFim", uf_fim),
        ("retira", "1"),
    ])  # fmt: skip
    _emit_cte(inf, emit)
    _toma_simplificado(inf, toma)
    carga = etree.SubElement(inf, _C + "infCarga")
    _campos(carga, _C, [("vCarga", _v(_dinheiro(rng, 1000, 90000))), ("proPred", "MERCADORIAS EM GERAL")])
    _campos(etree.SubElement(carga, _C + "infQ"), _C, [
        ("cUnid", "01"), ("tpMed", "02"), ("qCarga", f"{Decimal(rng.randint(10, 250_000)) / 10:.4f}"),
    ])  # fmt: skip
    inicio, fim = _CAPITAIS[uf_inicio][:2], _CAPITAIS[uf_fim][:2]
    for numero_item, valor in enumerate(parcelas, start=1):
        det = etree.SubElement(inf, _C + "det", nItem=str(numero_item))
        _campos(det, _C, [("cMunIni", inicio[0]), ("xMunIni", inicio[1]), ("cMunFim", fim[0]), ("xMunFim", fim[1]),
                          ("vPrest", _v(valor)), ("vRec", _v(valor))])  # fmt: skip
        _campos(etree.SubElement(det, _C + "infNFe"), _C, [("chNFe", chaves[(numero_item - 1) % len(chaves)])])
    rodo = etree.SubElement(etree.SubElement(inf, _C + "infModal", versaoModal="4.00"), _C + "rodo")
    _campos(rodo, _C, [("RNTRC", f"{rng.randint(0, 99_999_999):08d}")])
    if tipo_cte == "6":
        substituida = chave_substituida or _chave(rng, chave[:2], dh_emi, emit.documento, "57", serie, None)
        _campos(etree.SubElement(inf, _C + "infCteSub"), _C, [("chCte", substituida)])
    total = sum(parcelas, Decimal(0))
    aliquota = Decimal("12.00") if uf_inicio != uf_fim else Decimal("18.00")
    icms = etree.SubElement(etree.SubElement(etree.SubElement(inf, _C + "imp"), _C + "ICMS"), _C + "ICMS00")
    _campos(icms, _C, [("CST", "00"), ("vBC", _v(total)), ("pICMS", _v(aliquota)),
                       ("vICMS", _v(_percentual(total, aliquota)))])  # fmt: skip
    _campos(etree.SubElement(inf, _C + "total"), _C, [("vTPrest", _v(total)), ("vTRec", _v(total))])
    return _finalizar_cte(cte, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                          algoritmo, "cteSimpProc", emit.uf)  # fmt: skip


def _emit_gtve(inf, emit) -> None:
    # TGTVe/emit has no CRT (unlike the CT-e's) and takes only a CNPJ.
    el = etree.SubElement(inf, _C + "emit")
    _campos(el, _C, [("CNPJ", emit.documento), ("IE", emit.ie), ("xNome", emit.nome)])
    _campos(etree.SubElement(el, _C + "enderEmit"), _C, [*_endereco_cte(emit), ("fone", emit.fone)])


def _toma_simplificado(inf, toma) -> None:
    # TCTeSimp/toma: toma and indIEToma first, then the party and its address.
    el = etree.SubElement(inf, _C + "toma")
    _campos(el, _C, [("toma", "0"), ("indIEToma", "1" if toma.ie else "9"), (toma.tipo, toma.documento),
                     ("IE", toma.ie), ("xNome", toma.nome), ("fone", toma.fone)])  # fmt: skip
    _campos(etree.SubElement(el, _C + "enderToma"), _C, [*_endereco_cte(toma), ("cPais", "1058"), ("xPais", "BRASIL")])
