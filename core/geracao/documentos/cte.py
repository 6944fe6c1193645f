"""CT-e (mod 57) and CT-e OS (mod 67) 4.00: ``cteProc``/``cteOSProc`` with protCTe, or the bare signed document."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from lxml import etree

from core.documentos.chave import CODIGO_POR_UF
from core.documentos.xmldsig import assinar, digest_value_de
from core.geracao.certificado import CertificadoGerado

from .comum import (
    _C,
    _CAPITAIS,
    _CENTAVO,
    NS_CTE,
    DocumentoGerado,
    _campos,
    _chave,
    _data_padrao,
    _dh,
    _dinheiro,
    _emitente,
    _inf_prot,
    _Parte,
    _parte,
    _percentual,
    _processo,
    _serializar,
    _v,
)
from .reforma import Aliquotas, aliquotas_do_ano, grupo_ibscbs

_MOTIVOS_CTE = {100: "Autorizado o uso do CT-e", 150: "Autorizado o uso do CT-e, autorizacao fora de prazo"}
_CARGAS = ("MERCADORIAS EM GERAL", "ALIMENTOS NAO PERECIVEIS", "MATERIAL DE CONSTRUCAO",
           "ELETRONICOS", "MOVEIS", "PRODUTOS QUIMICOS NAO PERIGOSOS")  # fmt: skip


def gerar_cte(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    modal: str = "01",
    tipo_servico: str = "0",
    tipo_cte: str = "0",
    tomador: str = "0",
    chaves_nfe: Sequence[str] = (),
    emitente_cnpj: str | None = None,
    emitente_nome: str | None = None,
    remetente_documento: str | None = None,
    destinatario_documento: str | None = None,
    expedidor_documento: str | None = None,
    recebedor_documento: str | None = None,
    tomador_documento: str | None = None,
    uf_inicio: str = "SP",
    uf_fim: str = "RJ",
    serie: int = 1,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    valor_prestacao: Decimal | None = None,
    valor_carga: Decimal | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
    reforma: bool = False,
) -> DocumentoGerado:
    """A CT-e (mod 57): ``cteProc`` > ``CTe`` + ``protCTe``, or a bare signed ``CTe``.

    ``tomador`` "0".."3" points at rem/exped/receb/dest (toma3); "4" carries its own data (toma4).
    The emitter (carrier) is in ``uf_inicio``; exped/receb are present when they are the tomador or
    their document is given. Modals: 01 rodoviário, 02 aéreo, 06 multimodal.
    """
    if tomador not in ("0", "1", "2", "3", "4") or modal not in ("01", "02", "06"):
        raise ValueError("tomador deve ser 0..4 e modal 01, 02 ou 06")
    rng = rng or random.Random()
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, None, emitente_nome, uf_inicio)
    rem = _parte(rng, remetente_documento, uf_inicio)
    dest = _parte(rng, destinatario_documento, uf_fim)
    exped = _parte(rng, expedidor_documento, uf_inicio) if tomador == "1" or expedidor_documento else None
    receb = _parte(rng, recebedor_documento, uf_fim) if tomador == "2" or recebedor_documento else None
    toma4 = _parte(rng, tomador_documento, rng.choice(("SP", "MG", "PR"))) if tomador == "4" else None
    tomador_parte = {"0": rem, "1": exped, "2": receb, "3": dest, "4": toma4}[tomador]
    chave = _chave(rng, CODIGO_POR_UF[emit.uf], dh_emi, emit.documento, "57", serie, numero)

    cte = etree.Element(_C + "CTe", nsmap={None: NS_CTE})
    inf = etree.SubElement(cte, _C + "infCte", versao="4.00", Id="CTe" + chave)
    ide = _ide_cte(inf, chave, dh_emi, emit, modal, tipo_servico, tipo_cte, uf_inicio, uf_fim, ambiente,
                   tomador_parte)  # fmt: skip
    _tomador_cte(ide, tomador, tomador_parte)
    _emit_cte(inf, emit)
    for tag, endereco, parte in (("rem", "enderReme", rem), ("exped", "enderExped", exped),
                                 ("receb", "enderReceb", receb), ("dest", "enderDest", dest)):  # fmt: skip
        if parte is not None:
            _parte_cte(etree.SubElement(inf, _C + tag), parte, endereco)
    _vprest_imp(inf, rng, valor_prestacao, uf_inicio != uf_fim, aliquotas_do_ano(dh_emi.year) if reforma else None)
    _inf_cte_norm(inf, rng, valor_carga, chaves_nfe, modal, dh_emi)
    return _finalizar_cte(cte, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                          algoritmo, "cteProc", emit.uf)  # fmt: skip


def gerar_cte_os(
    *,
    certificado: CertificadoGerado,
    rng: random.Random | None = None,
    tipo_servico: str = "6",
    tomador_documento: str | None = None,
    emitente_cnpj: str | None = None,
    emitente_nome: str | None = None,
    uf_inicio: str = "SP",
    uf_fim: str = "RJ",
    serie: int = 1,
    numero: int | None = None,
    data_emissao: datetime | None = None,
    valor_prestacao: Decimal | None = None,
    com_protocolo: bool = True,
    codigo_status: int = 100,
    ambiente: int = 1,
    algoritmo: str = "sha1",
    reforma: bool = False,
) -> DocumentoGerado:
    """A CT-e OS (mod 67, road passenger/valuables transport): ``cteOSProc`` > ``CTeOS`` + ``protCTe``.

    It has a ``toma`` group and no rem/exped/receb/dest. ``tipo_servico``: 6 pessoas, 7 valores,
    8 excesso de bagagem.
    """
    rng = rng or random.Random()
    dh_emi = data_emissao or _data_padrao(rng)
    emit = _emitente(rng, certificado, emitente_cnpj, None, emitente_nome, uf_inicio)
    toma = _parte(rng, tomador_documento, uf_inicio)
    chave = _chave(rng, CODIGO_POR_UF[emit.uf], dh_emi, emit.documento, "67", serie, numero)

    cte = etree.Element(_C + "CTeOS", versao="4.00", nsmap={None: NS_CTE})
    inf = etree.SubElement(cte, _C + "infCte", versao="4.00", Id="CTe" + chave)
    _ide_cte(inf, chave, dh_emi, emit, "01", tipo_servico, "0", uf_inicio, uf_fim, ambiente, toma, os=True)
    _emit_cte(inf, emit)
    _parte_cte(etree.SubElement(inf, _C + "toma"), toma, "enderToma")
    _vprest_imp(inf, rng, valor_prestacao, uf_inicio != uf_fim, aliquotas_do_ano(dh_emi.year) if reforma else None)
    norm = etree.SubElement(inf, _C + "infCTeNorm")
    servico = etree.SubElement(norm, _C + "infServico")
    descricao = {"6": "TRANSPORTE DE PASSAGEIROS", "7": "TRANSPORTE DE VALORES", "8": "EXCESSO DE BAGAGEM"}
    _campos(servico, _C, [("xDescServ", descricao.get(tipo_servico, "TRANSPORTE DE PESSOAS"))])
    _campos(etree.SubElement(servico, _C + "infQ"), _C, [("qCarga", f"{rng.randint(1, 46)}.0000")])
    rodo = etree.SubElement(etree.SubElement(norm, _C + "infModal", versaoModal="4.00"), _C + "rodoOS")
    _campos(rodo, _C, [("TAF", f"{rng.randint(0, 10**12 - 1):012d}")])
    return _finalizar_cte(cte, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                          algoritmo, "cteOSProc", emit.uf)  # fmt: skip


def _ide_cte(inf, chave, dh_emi, emit, modal, tipo_servico, tipo_cte, uf_inicio, uf_fim, ambiente, tomador,
             os: bool = False):  # fmt: skip
    inicio, fim = _CAPITAIS[uf_inicio][:2], _CAPITAIS[uf_fim][:2]
    interestadual = uf_inicio != uf_fim
    ide = etree.SubElement(inf, _C + "ide")
    _campos(ide, _C, [
        ("cUF", chave[:2]), ("cCT", chave[35:43]), ("CFOP", "6353" if interestadual else "5353"),
        ("natOp", "PRESTACAO DE SERVICO DE TRANSPORTE"), ("mod", chave[20:22]), ("serie", int(chave[22:25])),
        ("nCT", int(chave[25:34])), ("dhEmi", _dh(dh_emi)), ("tpImp", "1"), ("tpEmis", chave[34]),
        ("cDV", chave[43]), ("tpAmb", ambiente), ("tpCTe", tipo_cte), ("procEmi", "0"),
        ("verProc", "FISCAL-GERADOR 1.0"), ("cMunEnv", emit.codigo_municipio), ("xMunEnv", emit.municipio),
        ("UFEnv", emit.uf), ("modal", modal), ("tpServ", tipo_servico),
    ])  # fmt: skip
    if os:  # CT-e OS: indIEToma comes before the (optional) route
        _campos(ide, _C, [("indIEToma", "1" if tomador.ie else "9")])
    _campos(ide, _C, [
        ("cMunIni", inicio[0]), ("xMunIni", inicio[1]), ("UFIni", uf_inicio),
        ("cMunFim", fim[0]), ("xMunFim", fim[1]), ("UFFim", uf_fim),
    ])  # fmt: skip
    return ide


def _tomador_cte(ide, tomador: str, parte: _Parte) -> None:
    _campos(ide, _C, [("retira", "1"), ("indIEToma", "1" if parte.ie else "9")])
    if tomador == "4":  # "outros": the tomador's data travel in ide/toma4
        _parte_cte(etree.SubElement(ide, _C + "toma4"), parte, "enderToma", toma="4")
    else:  # toma3 only points at rem/exped/receb/dest
        _campos(etree.SubElement(ide, _C + "toma3"), _C, [("toma", tomador)])


def _inf_cte_norm(inf, rng, valor_carga, chaves_nfe: Sequence[str], modal: str, dh_emi: datetime) -> None:
    norm = etree.SubElement(inf, _C + "infCTeNorm")
    carga = etree.SubElement(norm, _C + "infCarga")
    valor = Decimal(valor_carga) if valor_carga is not None else _dinheiro(rng, 1000, 90000)
    _campos(carga, _C, [("vCarga", _v(valor)), ("proPred", rng.choice(_CARGAS))])
    _campos(etree.SubElement(carga, _C + "infQ"), _C, [
        ("cUnid", "01"), ("tpMed", "PESO BRUTO"), ("qCarga", f"{Decimal(rng.randint(10, 250_000)) / 10:.4f}"),
    ])  # fmt: skip
    _campos(etree.SubElement(carga, _C + "infQ"), _C, [
        ("cUnid", "03"), ("tpMed", "VOLUMES"), ("qCarga", f"{rng.randint(1, 400)}.0000"),
    ])  # fmt: skip
    if chaves_nfe:  # the NF-e carried: how a CT-e links to NF-e
        inf_doc = etree.SubElement(norm, _C + "infDoc")
        for chave_nfe in chaves_nfe:
            _campos(etree.SubElement(inf_doc, _C + "infNFe"), _C, [("chave", chave_nfe)])
    _modal_cte(etree.SubElement(norm, _C + "infModal", versaoModal="4.00"), rng, modal, dh_emi)


def _endereco_cte(parte: _Parte) -> list[tuple[str, object]]:
    """The address fields emit and the other parties share (emit adds fone, the others the country)."""
    return [
        ("xLgr", parte.logradouro), ("nro", parte.numero), ("xBairro", parte.bairro),
        ("cMun", parte.codigo_municipio), ("xMun", parte.municipio), ("CEP", parte.cep), ("UF", parte.uf),
    ]  # fmt: skip


def _emit_cte(inf, emit: _Parte) -> None:
    el = etree.SubElement(inf, _C + "emit")
    _campos(el, _C, [(emit.tipo, emit.documento), ("IE", emit.ie), ("xNome", emit.nome)])
    _campos(etree.SubElement(el, _C + "enderEmit"), _C, [*_endereco_cte(emit), ("fone", emit.fone)])
    _campos(el, _C, [("CRT", "3")])


def _parte_cte(el, parte: _Parte, tag_endereco: str, toma: str | None = None) -> None:
    _campos(el, _C, [("toma", toma), (parte.tipo, parte.documento), ("IE", parte.ie), ("xNome", parte.nome),
                     ("fone", parte.fone)])  # fmt: skip
    _campos(etree.SubElement(el, _C + tag_endereco), _C, [*_endereco_cte(parte), ("cPais", "1058"),
                                                           ("xPais", "BRASIL")])  # fmt: skip


def _vprest_imp(inf, rng, valor_prestacao: Decimal | None, interestadual: bool,
                aliquotas: Aliquotas | None = None) -> None:  # fmt: skip
    """vPrest and imp; with the reform, imp/IBSCBS (TTribCTe) and imp/vTotDFe."""
    total = Decimal(valor_prestacao) if valor_prestacao is not None else _dinheiro(rng, 80, 9000)
    pedagio = min(_dinheiro(rng, 5, 60), total / 4).quantize(_CENTAVO, ROUND_DOWN)
    valor_taxa = (total * Decimal("0.10")).quantize(_CENTAVO, ROUND_DOWN)
    componentes = [("FRETE VALOR", valor_taxa), ("PEDAGIO", pedagio),
                   ("FRETE PESO", total - valor_taxa - pedagio)]  # fmt: skip
    vprest = etree.SubElement(inf, _C + "vPrest")
    _campos(vprest, _C, [("vTPrest", _v(total)), ("vRec", _v(total))])
    for nome, valor in componentes:
        _campos(etree.SubElement(vprest, _C + "Comp"), _C, [("xNome", nome), ("vComp", _v(valor))])
    aliquota = Decimal("12.00") if interestadual else Decimal("18.00")
    imp = etree.SubElement(inf, _C + "imp")
    icms = etree.SubElement(etree.SubElement(imp, _C + "ICMS"), _C + "ICMS00")
    _campos(icms, _C, [("CST", "00"), ("vBC", _v(total)), ("pICMS", _v(aliquota)),
                       ("vICMS", _v(_percentual(total, aliquota)))])  # fmt: skip
    if aliquotas is not None:
        valores = grupo_ibscbs(imp, _C, total, aliquotas)
        # vTotDFe = vTPrest in 2026; vTPrest + vIBS + vCBS afterwards (NT 2025.001-RTC, rule 360).
        total_dfe = total + valores.ibs + valores.cbs if aliquotas.por_fora else total
        _campos(imp, _C, [("vTotDFe", _v(total_dfe))])


def _modal_cte(inf_modal, rng, modal: str, dh_emi: datetime) -> None:
    if modal == "01":
        _campos(etree.SubElement(inf_modal, _C + "rodo"), _C, [("RNTRC", f"{rng.randint(0, 99_999_999):08d}")])
    elif modal == "02":
        aereo = etree.SubElement(inf_modal, _C + "aereo")
        _campos(aereo, _C, [("nMinu", f"{rng.randint(1, 999_999_999):09d}"),
                            ("dPrevAereo", (dh_emi + timedelta(days=2)).date().isoformat())])  # fmt: skip
        _campos(etree.SubElement(aereo, _C + "natCarga"), _C, [("cInfManu", "99")])
        _campos(etree.SubElement(aereo, _C + "tarifa"), _C, [("CL", "G"), ("vTar", _v(_dinheiro(rng, 50, 900)))])
    else:
        _campos(etree.SubElement(inf_modal, _C + "multimodal"), _C, [
            ("COTM", f"{rng.randint(1, 10**9)}"), ("indNegociavel", "0"),
        ])  # fmt: skip


def _finalizar_cte(documento, inf, chave, rng, certificado, dh_emi, ambiente, codigo_status, com_protocolo,
                   algoritmo, tag_proc, uf) -> DocumentoGerado:  # fmt: skip
    # infCTeSupl sits between infCte and Signature, so it must exist before signing.
    qr = f"https://dfe-portal.svrs.rs.gov.br/cte/qrCode?chCTe={chave}&tpAmb={ambiente}"
    _campos(etree.SubElement(documento, _C + "infCTeSupl"), _C, [("qrCodCTe", qr)])
    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo)
    if not com_protocolo:
        return DocumentoGerado(chave, _serializar(documento))
    prot = _processo(documento, _C, tag_proc, "protCTe", "4.00")
    _inf_prot(prot, _C, "chCTe", chave, ambiente, dh_emi, rng, digest_value_de(inf), codigo_status,
              _MOTIVOS_CTE.get(codigo_status, "Rejeicao"), f"{uf}-CTE-4.00")  # fmt: skip
    return DocumentoGerado(chave, _serializar(prot.getparent()))
