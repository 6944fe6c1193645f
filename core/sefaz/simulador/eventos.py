"""NFeRecepcaoEvento4 for the manifestação do destinatário: `envEvento` in, `retEnvEvento` out.

A lote has 1 to 20 eventos (envEvento_v1.00.xsd); each gets its own `retEvento` (retEnvEvento_v1.00.xsd). Checks,
per evento, in the order SEFAZ documents them: schema (215), signature (297; 213/227 when the author
is not the holder of the signing or of the transmitting certificate), ambiente (252), Id (572), then
the business rules in the store (580 unknown NF-e, 575 author is not the destinatário, 573 duplicate,
135 registered). Only the four manifestações are served here.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from core.documentos.xmldsig import AssinaturaInvalida, verificar_assinatura
from core.geracao.documentos import FUSO

from .armazem import NS_NFE, Armazem
from .distribuicao import MOTIVOS_PARALISACAO, Atendimento
from .tls import Identidade, identidade_do_certificado

N = f"{{{NS_NFE}}}"
VER_APLIC = "AN_1.6.2"
MAX_EVENTOS = 20
DESCRICOES = {
    "210200": "Confirmacao da Operacao",
    "210210": "Ciencia da Operacao",
    "210220": "Desconhecimento da Operacao",
    "210240": "Operacao nao Realizada",
}
_MOTIVOS = {
    128: "Lote de Evento Processado",
    213: "Rejeicao: CNPJ-Base do Autor difere do CNPJ-Base do Certificado Digital",
    215: "Rejeicao: Falha no schema XML",
    227: "Rejeicao: CPF do Autor difere do CPF do Certificado Digital",
    252: "Rejeicao: Ambiente informado diverge do Ambiente de recebimento",
    297: "Rejeicao: Assinatura difere do calculado",
    572: ("Rejeicao: Erro Atributo ID do evento nao corresponde a concatenacao dos campos "
          "(ID + tpEvento + chNFe + nSeqEvento)"),
    **MOTIVOS_PARALISACAO,
}  # fmt: skip
_PADROES = {
    "cOrgao": re.compile(r"91"),
    "tpAmb": re.compile(r"[12]"),
    "chNFe": re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}"),
    "dhEvento": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}"),
    "tpEvento": re.compile(r"2102[0124]0"),
    "nSeqEvento": re.compile(r"[1-9][0-9]?"),
    "verEvento": re.compile(r"1\.00"),
}


class _Recusa(Exception):
    def __init__(self, cstat: int, detalhe: str = ""):
        super().__init__(_MOTIVOS[cstat] + (f" ({detalhe})" if detalhe else ""))
        self.cstat = cstat


def atender(dados: etree._Element | None, identidade: Identidade, armazem: Armazem, ambiente: int) -> Atendimento:
    agora = armazem.relogio.agora()
    eventos = _eventos_do_lote(dados)
    if eventos is None:
        return Atendimento(_ret_env_evento(dados, 215, ambiente, []), 215, "evento", identidade.documento)
    retornos = [_processar(evento, identidade, armazem, ambiente, agora) for evento in eventos]
    return Atendimento(_ret_env_evento(dados, 128, ambiente, retornos), 128, "evento", identidade.documento)


def retorno_de_paralisacao(dados: etree._Element | None, cstat: int, ambiente: int) -> etree._Element:
    return _ret_env_evento(dados, cstat, ambiente, [])


def _eventos_do_lote(dados: etree._Element | None) -> list[etree._Element] | None:
    if dados is None or dados.tag != N + "envEvento" or dados.get("versao") != "1.00":
        return None
    if not re.fullmatch(r"[0-9]{1,15}", dados.findtext(N + "idLote") or ""):
        return None
    eventos = dados.findall(N + "evento")
    return eventos if 1 <= len(eventos) <= MAX_EVENTOS else None


def _processar(evento: etree._Element, identidade: Identidade, armazem: Armazem, ambiente: int,
               agora: datetime) -> etree._Element:  # fmt: skip
    inf = evento.find(N + "infEvento")
    campos = {etree.QName(filho).localname: (filho.text or "") for filho in (inf if inf is not None else [])
              if isinstance(filho.tag, str)}  # fmt: skip
    try:
        autor = _conferir(evento, inf, campos, identidade, ambiente)
        cstat, motivo, protocolo = armazem.registrar_manifestacao(
            autor, campos["chNFe"], campos["tpEvento"], int(campos["nSeqEvento"])
        )
    except _Recusa as recusa:
        cstat, motivo, protocolo = recusa.cstat, str(recusa), ""
    return _ret_evento(campos, cstat, motivo, protocolo, ambiente, agora)


def _conferir(evento, inf, campos: dict[str, str], identidade: Identidade, ambiente: int) -> str:
    """The author's CNPJ/CPF when the evento passes every check before the business rules."""
    _conferir_schema(evento, inf, campos)
    try:
        assinatura = verificar_assinatura(inf)
    except AssinaturaInvalida as erro:
        raise _Recusa(297, str(erro)) from None
    autor = campos.get("CNPJ") or campos.get("CPF")
    for certificado in (identidade_do_certificado(assinatura.certificado_der), identidade):
        _conferir_autor(autor, "CNPJ" in campos, certificado)
    if int(campos["tpAmb"]) != ambiente:
        raise _Recusa(252)
    if inf.get("Id") != f"ID{campos['tpEvento']}{campos['chNFe']}{int(campos['nSeqEvento']):02d}":
        raise _Recusa(572)
    return autor


def _conferir_schema(evento, inf, campos: dict[str, str]) -> None:
    if inf is None or evento.get("versao") != "1.00":
        raise _Recusa(215, "evento versao 1.00 com infEvento")
    if ("CNPJ" in campos) == ("CPF" in campos):
        raise _Recusa(215, "informe CNPJ ou CPF do autor")
    autor = campos.get("CNPJ") or campos.get("CPF")
    if not re.fullmatch(r"[0-9A-Z]{12}[0-9]{2}" if "CNPJ" in campos else r"[0-9]{11}", autor):
        raise _Recusa(215, "CNPJ/CPF do autor invalido")
    for nome, padrao in _PADROES.items():
        if not padrao.fullmatch(campos.get(nome, "")):
            raise _Recusa(215, f"{nome} invalido")
    det = inf.find(N + "detEvento")
    if det is None or det.get("versao") != "1.00":
        raise _Recusa(215, "detEvento versao 1.00")
    if det.findtext(N + "descEvento") != DESCRICOES[campos["tpEvento"]]:
        raise _Recusa(215, f"descEvento deve ser {DESCRICOES[campos['tpEvento']]}")
    justificativa = det.findtext(N + "xJust")
    if campos["tpEvento"] == "210240" and justificativa is None:
        raise _Recusa(215, "xJust obrigatorio para Operacao nao Realizada")
    if justificativa is not None and not 15 <= len(justificativa) <= 255:
        raise _Recusa(215, "xJust deve ter de 15 a 255 caracteres")


def _conferir_autor(autor: str, e_cnpj: bool, certificado: Identidade) -> None:
    if e_cnpj and (certificado.cnpj or "")[:8] != autor[:8]:
        raise _Recusa(213)
    if not e_cnpj and certificado.cpf != autor:
        raise _Recusa(227)


def _ret_env_evento(dados, cstat: int, ambiente: int, retornos: list[etree._Element]) -> etree._Element:
    raiz = etree.Element(N + "retEnvEvento", nsmap={None: NS_NFE}, versao="1.00")
    id_lote = dados.findtext(N + "idLote") if dados is not None else None
    id_lote = id_lote if id_lote and id_lote.isdigit() else "0"
    _campos(raiz, [("idLote", id_lote), ("tpAmb", ambiente), ("verAplic", VER_APLIC), ("cOrgao", "91"),
                   ("cStat", cstat), ("xMotivo", _MOTIVOS[cstat])])  # fmt: skip
    raiz.extend(retornos)
    return raiz


def _ret_evento(campos: dict[str, str], cstat: int, motivo: str, protocolo: str, ambiente: int,
                agora: datetime) -> etree._Element:  # fmt: skip
    ret = etree.Element(N + "retEvento", nsmap={None: NS_NFE}, versao="1.00")
    inf = etree.SubElement(ret, N + "infEvento", **({"Id": f"ID{protocolo}"} if protocolo else {}))
    tipo = campos.get("tpEvento")
    dados = [("tpAmb", ambiente), ("verAplic", VER_APLIC), ("cOrgao", "91"), ("cStat", cstat), ("xMotivo", motivo),
             ("chNFe", campos.get("chNFe") or None), ("tpEvento", tipo or None),
             ("xEvento", DESCRICOES.get(tipo or "") if protocolo else None),
             ("nSeqEvento", campos.get("nSeqEvento") or None)]  # fmt: skip
    if protocolo:
        tag = "CNPJDest" if "CNPJ" in campos else "CPFDest"
        dados.append((tag, campos.get("CNPJ") or campos.get("CPF")))
    dados.append(("dhRegEvento", agora.astimezone(FUSO).isoformat(timespec="seconds")))
    if protocolo:
        dados.append(("nProt", protocolo))
    _campos(inf, dados)
    return ret


def _campos(pai: etree._Element, campos) -> None:
    for nome, valor in campos:
        if valor is not None:
            etree.SubElement(pai, N + nome).text = str(valor)
