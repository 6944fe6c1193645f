"""NF-e and CT-e events: ``procEventoNFe``/``procEventoCTe`` > the signed event + the SEFAZ answer."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from core.documentos.tipos_evento import CTE, NFE, tipo_de_evento
from core.documentos.xmldsig import assinar
from core.geracao.certificado import CertificadoGerado

from .comum import (
    _C,
    _N,
    DocumentoGerado,
    _campos,
    _data_evento_padrao,
    _dh,
    _processo,
    _protocolo,
    _serializar,
    _tag_documento,
)

DESCRICOES_EVENTO_NFE = {
    "110111": "Cancelamento",
    "110110": "Carta de Correcao",
    "210200": "Confirmacao da Operacao",
    "210210": "Ciencia da Operacao",
    "210220": "Desconhecimento da Operacao",
    "210240": "Operacao nao Realizada",
}
DESCRICOES_EVENTO_CTE = {
    "110111": "Cancelamento",
    "110110": "Carta de Correcao",
    "610110": "Prestacao do Servico em Desacordo",
}
# Reform events the generator fills (NT 2025.002-RTC; PL_010_V1.30 e110001, e112110, e211128, e211130), with the
# tpAutor their schema fixes (110001 has none: it is the cancelled event's author's).
_TP_AUTOR_REFORMA = {"110001": None, "112110": "1", "211128": "2", "211130": "2"}
_VERSAO_APLICATIVO = "fiscal-gerador-1.0"
# The detEvento group of each CT-e event (PL_CTe_400 ev*_v4.00.xsd, whose annotation names the tpEvento).
_GRUPO_EVENTO_CTE = {
    "110111": "evCancCTe", "110110": "evCCeCTe", "610110": "evPrestDesacordo", "610111": "evCancPrestDesacordo",
    "110113": "evEPECCTe", "110160": "evRegMultimodal", "110170": "evGTV", "110180": "evCECTe",
    "110181": "evCancCECTe", "110190": "evIECTe", "110191": "evCancIECTe", "110300": "evVincPgto",
    "110301": "evCancVincPgto", "211110": "evApropriaCredPres",
}  # fmt: skip

# Fixed texts required verbatim by the event schemas (e110110_v1.00.xsd, evCCeCTe_v4.00.xsd).
_CONDICAO_USO_CCE_NFE = (
    "A Carta de Correcao e disciplinada pelo paragrafo 1o-A do art. 7o do Convenio S/N, de 15 de "
    "dezembro de 1970 e pode ser utilizada para regularizacao de erro ocorrido na emissao de documento "
    "fiscal, desde que o erro nao esteja relacionado com: I - as variaveis que determinam o valor do "
    "imposto tais como: base de calculo, aliquota, diferenca de preco, quantidade, valor da operacao ou "
    "da prestacao; II - a correcao de dados cadastrais que implique mudanca do remetente ou do "
    "destinatario; III - a data de emissao ou de saida."
)
_CONDICAO_USO_CCE_CTE = (
    "A Carta de Correcao e disciplinada pelo Art. 58-B do CONVENIO/SINIEF 06/89: Fica permitida a "
    "utilizacao de carta de correcao, para regularizacao de erro ocorrido na emissao de documentos "
    "fiscais relativos a prestacao de servico de transporte, desde que o erro nao esteja relacionado "
    "com: I - as variaveis que determinam o valor do imposto tais como: base de calculo, aliquota, "
    "diferenca de preco, quantidade, valor da prestacao;II - a correcao de dados cadastrais que "
    "implique mudanca do emitente, tomador, remetente ou do destinatario;III - a data de emissao ou "
    "de saida."
)

_MOTIVOS_EVENTO = {
    135: "Evento registrado e vinculado a {doc}",
    136: "Evento registrado, mas nao vinculado a {doc}",
    155: "Cancelamento homologado fora de prazo",
}


@dataclass(frozen=True)
class _Leiaute:
    """Where the NF-e and CT-e event layouts differ: namespace, version and tag names."""

    ns: str
    versao: str
    tag_evento: str
    tag_proc: str
    tag_retorno: str
    tag_chave: str
    nome_documento: str
    digitos_sequencia: int
    atributo_versao_detalhe: str
    campos_extras: tuple[tuple[str, str], ...] = ()


# CT-e event Ids carry a 3-digit sequence (eventoCTeTiposBasico_v4.00.xsd), NF-e ones 2 digits.
_LEIAUTE_NFE = _Leiaute(_N, "1.00", "evento", "procEventoNFe", "retEvento", "chNFe", "NF-e", 2, "versao",
                        (("verEvento", "1.00"),))  # fmt: skip
_LEIAUTE_CTE = _Leiaute(_C, "4.00", "eventoCTe", "procEventoCTe", "retEventoCTe", "chCTe", "CT-e", 3,
                        "versaoEvento")  # fmt: skip


def gerar_evento_nfe(
    *,
    certificado: CertificadoGerado,
    chave: str,
    tipo_evento: str = "110111",
    sequencia: int = 1,
    detalhes: dict[str, str] | None = None,
    autor_documento: str | None = None,
    codigo_status: int = 135,
    ambiente: int = 1,
    data_evento: datetime | None = None,
    com_retorno: bool = True,
    rng: random.Random | None = None,
    algoritmo: str = "sha1",
    itens: list[dict[str, str]] | None = None,
) -> DocumentoGerado:
    """An NF-e event: ``procEventoNFe`` > ``evento`` (signed) + ``retEvento``, or a bare ``evento``.

    ``detalhes`` fills detEvento (xJust, nProt, xCorrecao, tpEventoAut, nProtEvento...); missing required
    ones are invented. Reform events 110001, 112110, 211128 and 211130 get their schema's detEvento; 211130
    has one ``gImobilizacao`` per entry of ``itens`` (nItem, vIBS, vCBS, qImobilizado, uImobilizado).
    Other types outside the catalogue need ``detalhes["descEvento"]``. The author defaults to the
    certificate holder.
    """
    rng = rng or random.Random()
    detalhes = dict(detalhes or {})
    catalogo = tipo_de_evento(NFE, tipo_evento)
    descricao = (
        detalhes.pop("descEvento", None) or DESCRICOES_EVENTO_NFE.get(tipo_evento)
        or (catalogo.descricoes[0] if catalogo else None)
    )
    if descricao is None:
        raise ValueError(f"informe detalhes['descEvento'] para o evento {tipo_evento}")
    dh_evento = data_evento or _data_evento_padrao(rng)
    # Manifestações go to the Ambiente Nacional (91); emitter events to the key's UF.
    orgao = "91" if tipo_evento.startswith("2102") else chave[:2]
    autor = autor_documento or certificado.documento

    def detalhar(det: etree._Element) -> None:
        _campos(det, _N, [("descEvento", descricao)])
        _campos(det, _N, _detalhes_evento_nfe(rng, tipo_evento, chave, detalhes))
        if tipo_evento == "211130":
            _imobilizacoes(det, itens)

    manifestacao = orgao == "91"
    return _gerar_evento(
        _LEIAUTE_NFE, certificado=certificado, chave=chave, tipo_evento=tipo_evento, sequencia=sequencia,
        descricao=descricao, detalhar=detalhar, autor=autor, orgao=orgao,
        destinatario=[(f"{_tag_documento(autor)}Dest", autor)] if manifestacao else [],
        codigo_status=codigo_status, ambiente=ambiente, dh_evento=dh_evento, com_retorno=com_retorno, rng=rng,
        algoritmo=algoritmo,
    )  # fmt: skip


def gerar_evento_cte(
    *,
    certificado: CertificadoGerado,
    chave: str,
    tipo_evento: str = "110111",
    sequencia: int = 1,
    detalhes: dict[str, str] | None = None,
    autor_documento: str | None = None,
    codigo_status: int = 135,
    ambiente: int = 1,
    data_evento: datetime | None = None,
    com_retorno: bool = True,
    rng: random.Random | None = None,
    algoritmo: str = "sha1",
) -> DocumentoGerado:
    """A CT-e event: ``procEventoCTe`` > ``eventoCTe`` (signed) + ``retEventoCTe``.

    Filled per schema: 110111 cancelamento (nProt, xJust), 110110 CC-e (grupoAlterado, campoAlterado,
    valorAlterado) and 610110 prestação em desacordo (xObs). The other types of ``_GRUPO_EVENTO_CTE`` get
    their group with ``detalhes`` as leaves, in the caller's order.
    """
    if tipo_evento not in _GRUPO_EVENTO_CTE:
        raise ValueError(f"evento de CT-e {tipo_evento} não suportado pelo gerador")
    rng = rng or random.Random()
    detalhes = dict(detalhes or {})
    descricao = DESCRICOES_EVENTO_CTE.get(tipo_evento) or tipo_de_evento(CTE, tipo_evento).descricoes[0]
    dh_evento = data_evento or _data_evento_padrao(rng)
    autor = autor_documento or certificado.documento

    def detalhar(det: etree._Element) -> None:
        grupo = etree.SubElement(det, _C + _GRUPO_EVENTO_CTE[tipo_evento])
        _campos(grupo, _C, [("descEvento", descricao)])
        _detalhes_evento_cte(grupo, rng, tipo_evento, chave, detalhes)

    return _gerar_evento(
        _LEIAUTE_CTE, certificado=certificado, chave=chave, tipo_evento=tipo_evento, sequencia=sequencia,
        descricao=descricao, detalhar=detalhar, autor=autor, orgao=chave[:2], destinatario=[],
        codigo_status=codigo_status, ambiente=ambiente, dh_evento=dh_evento, com_retorno=com_retorno, rng=rng,
        algoritmo=algoritmo,
    )  # fmt: skip


def _gerar_evento(
    leiaute: _Leiaute,
    *,
    certificado: CertificadoGerado,
    chave: str,
    tipo_evento: str,
    sequencia: int,
    descricao: str,
    detalhar: Callable[[etree._Element], None],
    autor: str,
    orgao: str,
    destinatario: list[tuple[str, str]],
    codigo_status: int,
    ambiente: int,
    dh_evento: datetime,
    com_retorno: bool,
    rng: random.Random,
    algoritmo: str,
) -> DocumentoGerado:
    """The event skeleton both layouts share; ``detalhar`` fills detEvento, ``destinatario`` goes in the answer."""
    ns = leiaute.ns
    evento = etree.Element(ns + leiaute.tag_evento, versao=leiaute.versao, nsmap={None: ns[1:-1]})
    numero_sequencia = f"{sequencia:0{leiaute.digitos_sequencia}d}"
    inf = etree.SubElement(evento, ns + "infEvento", Id=f"ID{tipo_evento}{chave}{numero_sequencia}")
    _campos(inf, ns, [
        ("cOrgao", orgao), ("tpAmb", ambiente), (_tag_documento(autor), autor), (leiaute.tag_chave, chave),
        ("dhEvento", _dh(dh_evento)), ("tpEvento", tipo_evento), ("nSeqEvento", sequencia), *leiaute.campos_extras,
    ])  # fmt: skip
    detalhar(etree.SubElement(inf, ns + "detEvento", {leiaute.atributo_versao_detalhe: leiaute.versao}))
    assinar(inf, certificado.chave_privada, certificado.certificado, algoritmo)
    if not com_retorno:
        return DocumentoGerado(chave, _serializar(evento))

    ret = _processo(evento, ns, leiaute.tag_proc, leiaute.tag_retorno, leiaute.versao)
    numero = _protocolo(rng, orgao, dh_evento.strftime("%y"))
    motivo = _MOTIVOS_EVENTO.get(codigo_status, "Rejeicao: evento nao registrado").format(doc=leiaute.nome_documento)
    inf_ret = etree.SubElement(ret, ns + "infEvento", Id=f"ID{numero}")
    _campos(inf_ret, ns, [
        ("tpAmb", ambiente), ("verAplic", "AN_1.0.0" if orgao == "91" else f"SVRS{dh_evento:%Y%m%d}"),
        ("cOrgao", orgao), ("cStat", codigo_status), ("xMotivo", motivo), (leiaute.tag_chave, chave),
        ("tpEvento", tipo_evento), ("xEvento", descricao), ("nSeqEvento", sequencia), *destinatario,
        ("dhRegEvento", _dh(dh_evento + timedelta(seconds=rng.randint(1, 300)))), ("nProt", numero),
    ])  # fmt: skip
    return DocumentoGerado(chave, _serializar(ret.getparent()))


def _detalhes_evento_nfe(rng, tipo_evento: str, chave: str, detalhes: dict[str, str]) -> list[tuple[str, str]]:
    if tipo_evento in _TP_AUTOR_REFORMA:
        return _detalhes_reforma(rng, tipo_evento, chave, detalhes) + list(detalhes.items())
    if tipo_evento == "110111":
        campos = [("nProt", detalhes.pop("nProt", None) or _protocolo(rng, chave[:2], chave[2:4])),
                  ("xJust", detalhes.pop("xJust", "Pedido cancelado pelo cliente antes da entrega"))]  # fmt: skip
    elif tipo_evento == "110110":
        campos = [("xCorrecao", detalhes.pop("xCorrecao", "Correção do endereço de entrega: número 120")),
                  ("xCondUso", detalhes.pop("xCondUso", _CONDICAO_USO_CCE_NFE))]  # fmt: skip
    elif tipo_evento == "210240":
        campos = [("xJust", detalhes.pop("xJust", "Mercadoria devolvida, operacao nao realizada"))]
    else:
        campos = []
    return campos + list(detalhes.items())  # other fields, in the caller's order


def _detalhes_reforma(rng, tipo_evento: str, chave: str, detalhes: dict[str, str]) -> list[tuple[str, object]]:
    campos = [("cOrgaoAutor", chave[:2]), ("tpAutor", _TP_AUTOR_REFORMA[tipo_evento]), ("verAplic", _VERSAO_APLICATIVO)]
    if tipo_evento == "110001":
        return campos + [
            ("tpEventoAut", detalhes.pop("tpEventoAut", "112110")),
            ("nProtEvento", detalhes.pop("nProtEvento", None) or _protocolo(rng, chave[:2], chave[2:4])),
        ]
    if tipo_evento == "112110":
        return campos + [("indQuitacao", detalhes.pop("indQuitacao", "1"))]
    if tipo_evento == "211128":
        return campos + [("indAceitacao", detalhes.pop("indAceitacao", "1"))]
    return campos  # 211130: the gImobilizacao groups follow


def _imobilizacoes(det: etree._Element, itens: list[dict[str, str]] | None) -> None:
    padrao = [{"nItem": "1", "vIBS": "17.70", "vCBS": "88.00", "qImobilizado": "1.0000", "uImobilizado": "UN"}]
    for item in itens or padrao:
        grupo = etree.SubElement(det, _N + "gImobilizacao", nItem=str(item["nItem"]))
        _campos(grupo, _N, [("vIBS", item["vIBS"]), ("vCBS", item["vCBS"])])
        estoque = etree.SubElement(grupo, _N + "gControleEstoque")
        _campos(estoque, _N, [("qImobilizado", item["qImobilizado"]), ("uImobilizado", item["uImobilizado"])])


def _detalhes_evento_cte(grupo, rng, tipo_evento: str, chave: str, detalhes: dict[str, str]) -> None:
    if tipo_evento == "110111":
        _campos(grupo, _C, [
            ("nProt", detalhes.get("nProt") or _protocolo(rng, chave[:2], chave[2:4])),
            ("xJust", detalhes.get("xJust", "Prestacao de servico cancelada pelo tomador")),
        ])  # fmt: skip
    elif tipo_evento == "110110":
        _campos(etree.SubElement(grupo, _C + "infCorrecao"), _C, [
            ("grupoAlterado", detalhes.get("grupoAlterado", "compl")),
            ("campoAlterado", detalhes.get("campoAlterado", "xObs")),
            ("valorAlterado", detalhes.get("valorAlterado", "Entrega no periodo da manha")),
        ])  # fmt: skip
        _campos(grupo, _C, [("xCondUso", _CONDICAO_USO_CCE_CTE)])
    elif tipo_evento != "610110":
        _campos(grupo, _C, list(detalhes.items()))
    else:
        _campos(grupo, _C, [("indDesacordoOper", "1"),
                            ("xObs", detalhes.get("xObs", "Mercadoria entregue com avaria no destino"))])  # fmt: skip
