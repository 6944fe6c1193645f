"""NFeDistribuicaoDFe / CTeDistribuicaoDFe messages: read `distDFeInt`, check it, answer `retDistDFeInt`.

Checks in the order the AN applies them (distDFeInt_v1.01.xsd, CT-e distDFeInt_v1.00.xsd, the NT 2014.002
cStat table): the schema (215; a prefixed namespace is 404), the ambiente (252), the caller against its
certificate (473, 593, 472); then the store's rules (137/138/589/656...). NF-e is versao 1.01 with distNSU, consNSU or consChNFe; CT-e is
versao 1.00, cUFAutor required, distNSU or consNSU only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from core.geracao.documentos import FUSO

from .armazem import NS_CTE, NS_NFE, Armazem, Resposta
from .tls import Identidade

VER_APLIC = "1.7.6"
_VERSOES = {"nfe": (NS_NFE, "1.01"), "cte": (NS_CTE, "1.00")}
_ESCOLHAS = {"nfe": ("distNSU", "consNSU", "consChNFe"), "cte": ("distNSU", "consNSU")}
_CAMPO_DA_ESCOLHA = {"distNSU": "ultNSU", "consNSU": "NSU", "consChNFe": "chNFe"}
_PADROES = {
    "tpAmb": re.compile(r"[12]"),
    "cUFAutor": re.compile(r"1[1-7]|2[1-9]|3[1-35]|4[1-3]|5[0-3]"),
    "CNPJ": re.compile(r"[0-9A-Z]{12}[0-9]{2}"),
    "CPF": re.compile(r"[0-9]{11}"),
    "ultNSU": re.compile(r"[0-9]{15}"),
    "NSU": re.compile(r"[0-9]{15}"),
    "chNFe": re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}"),
}
_REJEICOES = {
    215: "Rejeicao: Falha no schema XML",
    252: "Rejeicao: Ambiente informado diverge do Ambiente de recebimento",
    404: "Rejeicao: Uso de prefixo de namespace nao permitido",
    472: "Rejeicao: CPF consultado difere do CPF do Certificado Digital",
    473: "Rejeicao: Certificado Transmissor sem CNPJ ou CPF",
    593: "Rejeicao: CNPJ-Base consultado difere do CNPJ-Base do Certificado Digital",
}
MOTIVOS_PARALISACAO = {
    108: "Servico Paralisado Momentaneamente (curto prazo)",
    109: "Servico Paralisado sem Previsao",
    999: "Rejeicao: Erro nao catalogado",
}


class Rejeicao(Exception):
    def __init__(self, cstat: int, detalhe: str = ""):
        motivo = _REJEICOES[cstat] + (f" ({detalhe})" if detalhe else "")
        super().__init__(motivo)
        self.resposta = Resposta(cstat, motivo)


@dataclass(frozen=True)
class Consulta:
    tipo: str  # distNSU, consNSU or consChNFe
    tp_amb: int
    documento: str
    tag_documento: str  # CNPJ or CPF
    nsu: int | None = None
    chave: str | None = None


@dataclass(frozen=True)
class Atendimento:
    """What one request got: the answer element and what `Simulador.chamadas` records of it."""

    xml: etree._Element
    cstat: int
    tipo: str | None = None
    documento: str | None = None
    nsu: int | None = None
    chave: str | None = None


def atender(servico: str, dados: etree._Element | None, identidade: Identidade, armazem: Armazem,
            ambiente: int) -> Atendimento:  # fmt: skip
    consulta = None
    try:
        consulta = ler_consulta(servico, dados)
        conferir(consulta, identidade, ambiente)
        resposta = _consultar(servico, consulta, armazem)
    except Rejeicao as rejeicao:
        resposta = rejeicao.resposta
    xml = montar_retorno(servico, resposta, ambiente, armazem.relogio.agora())
    if consulta is None:
        return Atendimento(xml, resposta.cstat)
    return Atendimento(xml, resposta.cstat, consulta.tipo, consulta.documento, consulta.nsu, consulta.chave)


def ler_consulta(servico: str, dados: etree._Element | None) -> Consulta:
    ns, versao = _VERSOES[servico]
    if dados is None or etree.QName(dados).localname != "distDFeInt":
        raise Rejeicao(215, "distDFeInt ausente")
    if dados.prefix is not None:
        raise Rejeicao(404)
    if dados.tag != f"{{{ns}}}distDFeInt" or dados.get("versao") != versao:
        raise Rejeicao(215, f"distDFeInt versao {versao} no namespace {ns}")
    filhos = [filho for filho in dados if isinstance(filho.tag, str)]
    if any(etree.QName(filho).namespace != ns for filho in filhos):
        raise Rejeicao(215, "elemento fora do namespace")
    nomes = [etree.QName(filho).localname for filho in filhos]
    campos = {nome: (filho.text or "") for nome, filho in zip(nomes, filhos, strict=False)}
    _conferir_ordem(servico, nomes)
    for nome in ("tpAmb", "cUFAutor", "CNPJ", "CPF"):
        _conferir_campo(nome, campos.get(nome))
    escolha = nomes[-1]
    valor = _campo_da_escolha(filhos[-1], escolha)
    tag_documento = "CNPJ" if "CNPJ" in campos else "CPF"
    return Consulta(
        tipo=escolha, tp_amb=int(campos["tpAmb"]), documento=campos[tag_documento], tag_documento=tag_documento,
        nsu=int(valor) if escolha != "consChNFe" else None, chave=valor if escolha == "consChNFe" else None,
    )  # fmt: skip


def conferir(consulta: Consulta, identidade: Identidade, ambiente: int) -> None:
    if consulta.tp_amb != ambiente:
        raise Rejeicao(252)
    if identidade.documento is None:
        raise Rejeicao(473)
    if consulta.tag_documento == "CNPJ" and (identidade.cnpj or "")[:8] != consulta.documento[:8]:
        raise Rejeicao(593)  # any branch of the certificate's CNPJ base may be queried (§1.3)
    if consulta.tag_documento == "CPF" and identidade.cpf != consulta.documento:
        raise Rejeicao(472)


def montar_retorno(servico: str, resposta: Resposta, ambiente: int, agora: datetime) -> etree._Element:
    ns, versao = _VERSOES[servico]
    raiz = etree.Element(f"{{{ns}}}retDistDFeInt", nsmap={None: ns}, versao=versao)
    # CT-e's dhResp has no UTC offset (retDistDFeInt_v1.00.xsd); NF-e's has one.
    momento = agora.astimezone(FUSO)
    dh_resp = momento.isoformat(timespec="seconds") if servico == "nfe" else momento.strftime("%Y-%m-%dT%H:%M:%S")
    campos = [("tpAmb", ambiente), ("verAplic", VER_APLIC), ("cStat", resposta.cstat),
              ("xMotivo", resposta.motivo), ("dhResp", dh_resp)]  # fmt: skip
    if resposta.ult_nsu is not None:
        campos += [("ultNSU", f"{resposta.ult_nsu:015d}"), ("maxNSU", f"{resposta.max_nsu or 0:015d}")]
    for nome, valor in campos:
        etree.SubElement(raiz, f"{{{ns}}}{nome}").text = str(valor)
    if resposta.documentos:
        lote = etree.SubElement(raiz, f"{{{ns}}}loteDistDFeInt")
        for documento in resposta.documentos:
            doc_zip = etree.SubElement(lote, f"{{{ns}}}docZip", NSU=f"{documento.nsu:015d}", schema=documento.schema)
            doc_zip.text = documento.doc_zip
    return raiz


def retorno_de_paralisacao(servico: str, cstat: int, ambiente: int, agora: datetime) -> etree._Element:
    return montar_retorno(servico, Resposta(cstat, MOTIVOS_PARALISACAO[cstat]), ambiente, agora)


def _consultar(servico: str, consulta: Consulta, armazem: Armazem) -> Resposta:
    if consulta.tipo == "distNSU":
        return armazem.dist_nsu(consulta.documento, servico, consulta.nsu)
    if consulta.tipo == "consNSU":
        return armazem.cons_nsu(consulta.documento, servico, consulta.nsu)
    return armazem.cons_chave(consulta.documento, consulta.chave)


def _conferir_ordem(servico: str, nomes: list[str]) -> None:
    # tpAmb, cUFAutor (optional for NF-e, required for CT-e), CNPJ | CPF, then exactly one query kind.
    esperado = ["tpAmb"]
    if "cUFAutor" in nomes or servico == "cte":
        esperado.append("cUFAutor")
    esperado.append("CPF" if "CPF" in nomes else "CNPJ")
    if nomes[: len(esperado)] != esperado or len(nomes) != len(esperado) + 1 or nomes[-1] not in _ESCOLHAS[servico]:
        raise Rejeicao(215, f"esperado {', '.join(esperado)} e um de {'/'.join(_ESCOLHAS[servico])}")


def _conferir_campo(nome: str, valor: str | None) -> None:
    if valor is not None and not _PADROES[nome].fullmatch(valor):
        raise Rejeicao(215, f"{nome} invalido")


def _campo_da_escolha(escolha_el: etree._Element, escolha: str) -> str:
    nome = _CAMPO_DA_ESCOLHA[escolha]
    filhos = [filho for filho in escolha_el if isinstance(filho.tag, str)]
    if len(filhos) != 1 or etree.QName(filhos[0]).localname != nome:
        raise Rejeicao(215, f"{escolha} deve conter {nome}")
    valor = filhos[0].text or ""
    if not _PADROES[nome].fullmatch(valor):
        raise Rejeicao(215, f"{nome} deve ter {'44 caracteres' if nome == 'chNFe' else '15 digitos'}")
    return valor
