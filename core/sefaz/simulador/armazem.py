"""What the simulated Ambiente Nacional holds and the rules it answers DistribuicaoDFe queries with.

One NSU sequence per (CNPJ/CPF as sent, service), all state in memory behind one lock. The rules are
those of NT 2014.002 v1.30 §3 (distribution) and §3.11.4 (consumo indevido):

- distNSU returns up to `lote` documents after `ultNSU`, ascending; ultNSU is the last NSU searched;
- after a 137, or an answer with ultNSU == maxNSU, a distNSU within 1 h is "consumo indevido" (656);
- each distNSU must continue from the ultNSU returned last for that CNPJ (one shared sequence), with no
  jump backward or forward, else 656: repeating a request whose answer the client lost is a jump
  backward once that answer has moved the sequence (NT 2014.002 §3.11.4);
- consNSU and consChNFe together: at most 20 per hour, beyond that 656;
- a 656 blocks the CNPJ for 1 h, and any query during the block restarts the hour;
- 656 answers carry maxNSU = 0 and, in ultNSU, the last NSU returned (v1.14);
- with `primeiro_uso`, NSUs exist only from a CNPJ's first distNSU on (no retroactive NSU, §1.7).

Time is the simulated `Relogio`, so tests can jump an hour instead of waiting for it.
"""

from __future__ import annotations

import base64
import bisect
import gzip
import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC

from lxml import etree

from core.documentos.chave import somente_documento

logger = logging.getLogger(__name__)

NS_NFE = "http://www.portalfiscal.inf.br/nfe"
NS_CTE = "http://www.portalfiscal.inf.br/cte"
HORA = timedelta(hours=1)
LIMITE_AVULSAS_POR_HORA = 20
MAX_LOTE = 50  # retDistDFeInt_v1.01.xsd: docZip maxOccurs="50"
SERVICOS = ("nfe", "cte")
MANIFESTACOES_QUE_LIBERAM = {"210200", "210210", "210240"}  # 210220 (desconhecimento) releases nothing
# NT 2020.001 v1.50 (production since 2024-08-01): each conclusive manifestation up to twice (nSeqEvento 1
# and 2), the ciência once and never after a conclusive one; all within 180 days of the authorization
# (Ajuste SINIEF 07/05, cláusula décima quinta-C).
CIENCIA = "210210"
MAX_SEQUENCIA = {CIENCIA: 1, "210200": 2, "210220": 2, "210240": 2}
PRAZO_MANIFESTACAO = timedelta(days=180)

# Root element of a document -> (service whose stream may carry it, docZip/@schema): the
# root elements of PL_NFeDistDFe (resNFe, resEvento) and PL_CTe_400 (proc*_v4.00.xsd).
SCHEMAS = {
    (NS_NFE, "resNFe"): ("nfe", "resNFe_v1.01.xsd"),
    (NS_NFE, "nfeProc"): ("nfe", "procNFe_v4.00.xsd"),
    (NS_NFE, "resEvento"): ("nfe", "resEvento_v1.01.xsd"),
    (NS_NFE, "procEventoNFe"): ("nfe", "procEventoNFe_v1.00.xsd"),
    (NS_CTE, "cteProc"): ("cte", "procCTe_v4.00.xsd"),
    (NS_CTE, "cteOSProc"): ("cte", "procCTeOS_v4.00.xsd"),
    (NS_CTE, "GTVeProc"): ("cte", "procGTVe_v4.00.xsd"),
    (NS_CTE, "cteSimpProc"): ("cte", "procCTeSimp_v4.00.xsd"),
    (NS_CTE, "procEventoCTe"): ("cte", "procEventoCTe_v4.00.xsd"),
}

MOTIVOS = {
    137: "Nenhum documento localizado",
    138: "Documento(s) localizado(s)",
    217: "Rejeicao: NF-e inexistente para a chave de acesso informada",
    573: "Rejeicao: Duplicidade de Evento",
    594: "Rejeicao: O numero de sequencia do evento informado e maior que o permitido",
    596: "Rejeicao: Evento apresentado apos o prazo permitido para o evento: [180 dias]",
    655: "Rejeicao: Evento de Ciencia da Operacao informado apos a manifestacao final do destinatario",
    589: "Rejeicao: Numero do NSU informado superior ao maior NSU da base de dados do Ambiente Nacional",
    640: "Rejeicao: CNPJ/CPF do interessado nao possui permissao para consultar esta NF-e",
    641: "Rejeicao: NF-e indisponivel para o emitente",
}
MOTIVO_AGUARDAR = ("Rejeicao: Consumo Indevido (Deve ser aguardado 1 hora para efetuar nova solicitacao caso nao "
                   "existam mais documentos a serem pesquisados. Tente apos 1 hora)")  # fmt: skip
MOTIVO_SEQUENCIA = ("Rejeicao: Consumo Indevido (Deve ser utilizado o ultNSU nas solicitacoes subsequentes. "
                    "Tente apos 1 hora)")  # fmt: skip
MOTIVO_LIMITE = "Rejeicao: Consumo Indevido (Ultrapassou o limite de 20 consultas por hora)"
MOTIVO_BLOQUEIO = "Rejeicao: Consumo Indevido (Bloqueio por consumo indevido em andamento. Tente apos 1 hora)"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class Relogio:
    """Real time plus an offset the tests move forward (``avancar(minutos=61)``)."""

    def __init__(self) -> None:
        self._deslocamento = timedelta()
        self._trava = threading.Lock()

    def agora(self) -> datetime:
        with self._trava:
            return datetime.now(UTC) + self._deslocamento

    def avancar(self, *, dias: float = 0, horas: float = 0, minutos: float = 0, segundos: float = 0) -> datetime:
        with self._trava:
            self._deslocamento += timedelta(days=dias, hours=horas, minutes=minutos, seconds=segundos)
        return self.agora()


@dataclass(frozen=True)
class Documento:
    nsu: int
    schema: str
    xml: bytes
    doc_zip: str  # base64(gzip(xml)), computed once at publication
    chave: str | None


@dataclass(frozen=True)
class Resposta:
    """A DistribuicaoDFe answer before it becomes XML. ult/max None: left out of the message."""

    cstat: int
    motivo: str
    ult_nsu: int | None = None
    max_nsu: int | None = None
    documentos: tuple[Documento, ...] = ()


@dataclass
class Fluxo:
    """One NSU sequence: (CNPJ/CPF, service)."""

    ativo: bool
    documentos: dict[int, Documento] = field(default_factory=dict)
    nsus: list[int] = field(default_factory=list)  # ascending
    por_chave: dict[str, list[int]] = field(default_factory=dict)
    max_nsu: int = 0
    ult_retornado: int | None = None  # the ultNSU of the last distNSU answer: the only one the next may ask
    espera_ate: datetime | None = None  # no distNSU before this (after 137 / ultNSU == maxNSU)
    bloqueado_ate: datetime | None = None  # 656 block
    avulsas: list[datetime] = field(default_factory=list)  # consNSU/consChNFe of the last hour


@dataclass(frozen=True)
class SituacaoFluxo:
    max_nsu: int
    ult_nsu_retornado: int | None
    espera_ate: datetime | None
    bloqueado_ate: datetime | None
    consultas_avulsas_na_ultima_hora: int
    documentos: int


@dataclass(frozen=True)
class EventoRegistrado:
    chave: str
    tipo_evento: str
    sequencia: int
    autor: str
    protocolo: str
    registrado_em: datetime


class Armazem:
    def __init__(self, relogio: Relogio, *, lote: int = MAX_LOTE, pagina_irregular: bool = False,
                 primeiro_uso: bool = False) -> None:  # fmt: skip
        self.relogio = relogio
        self.lote = lote
        self.pagina_irregular = pagina_irregular
        self.primeiro_uso = primeiro_uso
        self._trava = threading.RLock()
        self._fluxos: dict[tuple[str, str], Fluxo] = {}
        self._destinatarios: dict[str, set[str]] = {}  # NF-e key -> documents whose stream received it
        self._pendentes: dict[tuple[str, str], bytes] = {}  # (destinatário, key) -> nfeProc awaiting manifestação
        self._eventos: dict[tuple[str, str, int, str], EventoRegistrado] = {}
        self._autorizadas: dict[str, datetime] = {}  # NF-e key -> dhRecbto (or dhEmi) of what was published
        self._protocolos = 0
        self._aleatorio = random.Random(0)  # irregular page sizes, reproducible

    @property
    def lote(self) -> int:
        return self._lote

    @lote.setter
    def lote(self, valor: int) -> None:
        if not 1 <= int(valor) <= MAX_LOTE:
            raise ValueError(f"lote deve estar entre 1 e {MAX_LOTE}")
        self._lote = int(valor)

    # --- publishing -----------------------------------------------------------------------------

    def publicar(self, documento: str, servico: str, xml: bytes, schema: str | None = None) -> int | None:
        """Put ``xml`` in the next NSU of the stream; None when the stream does not generate NSUs yet."""
        raiz = ler_documento(xml)
        schema = schema or _schema(raiz, servico)
        chave = chave_da_nfe(raiz) if servico == "nfe" else None
        doc_zip = base64.b64encode(gzip.compress(xml, compresslevel=6, mtime=0)).decode("ascii")
        with self._trava:
            fluxo = self._fluxo(documento, servico)
            if not fluxo.ativo:
                # No CNPJ/CPF in the log: a CPF is personal data.
                logger.info("simulador: documento %s descartado, interessado ainda sem distNSU (sem NSU retroativo)",
                            servico)  # fmt: skip
                return None
            nsu = fluxo.max_nsu = fluxo.max_nsu + 1
            fluxo.documentos[nsu] = Documento(nsu, schema, xml, doc_zip, chave)
            fluxo.nsus.append(nsu)
            if chave:
                fluxo.por_chave.setdefault(chave, []).append(nsu)
                self._destinatarios.setdefault(chave, set()).add(_normalizar(documento))
                autorizada = autorizada_em(raiz)
                if autorizada is not None:
                    self._autorizadas.setdefault(chave, autorizada)
            return nsu

    def publicar_resumo(self, destinatario: str, chave: str, res_nfe: bytes, nfe_proc: bytes) -> int | None:
        """The destinatário's resNFe now; its nfeProc only after a manifestação (§1.7, §3)."""
        with self._trava:
            nsu = self.publicar(destinatario, "nfe", res_nfe)
            if nsu is not None:
                self._pendentes[(_normalizar(destinatario), chave)] = nfe_proc
            return nsu

    def pular_nsu(self, documento: str, servico: str, quantidade: int = 1) -> int:
        """Burn NSUs without documents (a gap the client must close with consNSU); returns the last one."""
        with self._trava:
            fluxo = self._fluxo(documento, servico)
            fluxo.max_nsu += quantidade
            return fluxo.max_nsu

    def situacao(self, documento: str, servico: str) -> SituacaoFluxo:
        with self._trava:
            fluxo = self._fluxo(documento, servico)
            return SituacaoFluxo(fluxo.max_nsu, fluxo.ult_retornado, fluxo.espera_ate, fluxo.bloqueado_ate,
                                 len(self._avulsas_recentes(fluxo, self.relogio.agora())), len(fluxo.nsus))  # fmt: skip

    # --- DistribuicaoDFe ------------------------------------------------------------------------

    def dist_nsu(self, documento: str, servico: str, ult_nsu: int) -> Resposta:
        with self._trava:
            agora, fluxo = self.relogio.agora(), self._fluxo(documento, servico)
            if _ativo(fluxo.bloqueado_ate, agora):
                return self._bloquear(fluxo, agora, MOTIVO_BLOQUEIO)
            if not fluxo.ativo:  # first use: NSUs start now, nothing retroactive (PyNFe#256)
                fluxo.ativo, fluxo.ult_retornado, fluxo.espera_ate = True, 0, agora + HORA
                return Resposta(137, MOTIVOS[137], 0, 0)
            if ult_nsu > fluxo.max_nsu:
                return Resposta(589, MOTIVOS[589], fluxo.ult_retornado or 0, fluxo.max_nsu)
            if _ativo(fluxo.espera_ate, agora):
                return self._bloquear(fluxo, agora, MOTIVO_AGUARDAR)
            if fluxo.ult_retornado is not None and ult_nsu != fluxo.ult_retornado:
                return self._bloquear(fluxo, agora, MOTIVO_SEQUENCIA)
            return self._pagina(fluxo, agora, ult_nsu)

    def cons_nsu(self, documento: str, servico: str, nsu: int) -> Resposta:
        with self._trava:
            agora, fluxo = self.relogio.agora(), self._fluxo(documento, servico)
            recusa = self._consulta_avulsa(fluxo, agora)
            if recusa:
                return recusa
            if nsu > fluxo.max_nsu:
                return Resposta(589, MOTIVOS[589], fluxo.ult_retornado or 0, fluxo.max_nsu)
            encontrado = fluxo.documentos.get(nsu)
            if encontrado is None:  # "NSU not generated": the client marks the gap closed
                return Resposta(137, MOTIVOS[137], nsu, fluxo.max_nsu)
            return Resposta(138, MOTIVOS[138], nsu, fluxo.max_nsu, (encontrado,))

    def cons_chave(self, documento: str, chave: str) -> Resposta:
        """consChNFe: only the NF-e (never events), the full one when this CNPJ may already have it."""
        with self._trava:
            agora, fluxo = self.relogio.agora(), self._fluxo(documento, "nfe")
            recusa = self._consulta_avulsa(fluxo, agora)
            if recusa:
                return recusa
            ult, maximo = fluxo.ult_retornado or 0, fluxo.max_nsu
            if chave[6:20] == _normalizar(documento).zfill(14):
                return Resposta(641, MOTIVOS[641], ult, maximo)
            if chave not in self._destinatarios:
                return Resposta(217, MOTIVOS[217], ult, maximo)
            nsus = fluxo.por_chave.get(chave)
            if not nsus:
                return Resposta(640, MOTIVOS[640], ult, maximo)
            candidatos = [fluxo.documentos[n] for n in nsus]
            completo = next((d for d in reversed(candidatos) if d.schema.startswith("procNFe")), candidatos[-1])
            return Resposta(138, MOTIVOS[138], ult, maximo, (completo,))

    # --- manifestação ---------------------------------------------------------------------------

    def registrar_manifestacao(self, autor: str, chave: str, tipo_evento: str, sequencia: int) -> tuple[int, str, str]:
        """(cStat, xMotivo, nProt) for one manifestação; 135 releases the full NF-e in a new NSU."""
        autor = _normalizar(autor)
        with self._trava:
            destinatarios = self._destinatarios.get(chave)
            if destinatarios is None:
                return 580, "Rejeicao: O evento exige uma NF-e autorizada", ""
            if autor not in destinatarios:
                return 575, "Rejeicao: O autor do evento diverge do destinatario da NF-e", ""
            agora = self.relogio.agora()
            recusa = self._recusa_da_manifestacao(autor, chave, tipo_evento, sequencia, agora)
            if recusa:
                return recusa, MOTIVOS[recusa], ""
            identidade = (chave, tipo_evento, sequencia, autor)
            self._protocolos += 1
            protocolo = f"891{agora:%y}{self._protocolos:010d}"
            self._eventos[identidade] = EventoRegistrado(chave, tipo_evento, sequencia, autor, protocolo, agora)
            pendente = self._pendentes.get((autor, chave))
            if tipo_evento in MANIFESTACOES_QUE_LIBERAM and pendente is not None:
                del self._pendentes[(autor, chave)]
                self.publicar(autor, "nfe", pendente)  # the AN makes a NEW NSU with the nfeProc (§3)
            return 135, "Evento registrado e vinculado a NF-e", protocolo

    def _recusa_da_manifestacao(self, autor: str, chave: str, tipo_evento: str, sequencia: int,
                                agora: datetime) -> int | None:  # fmt: skip
        """594, 573, 596 or 655 when the rules of NT 2020.001 v1.50 refuse this manifestação; else None."""
        if sequencia > MAX_SEQUENCIA[tipo_evento]:
            return 594
        if (chave, tipo_evento, sequencia, autor) in self._eventos:
            return 573
        autorizada = self._autorizadas.get(chave)
        if autorizada is not None and agora > autorizada + PRAZO_MANIFESTACAO:
            return 596
        conclusivas = {e.tipo_evento for e in self._eventos.values() if e.chave == chave} - {CIENCIA}
        if tipo_evento == CIENCIA and conclusivas:
            return 655
        return None

    def eventos_registrados(self) -> list[EventoRegistrado]:
        with self._trava:
            return list(self._eventos.values())

    # --- rules ----------------------------------------------------------------------------------

    def _pagina(self, fluxo: Fluxo, agora: datetime, ult_nsu: int) -> Resposta:
        inicio = bisect.bisect_right(fluxo.nsus, ult_nsu)
        tamanho = self._tamanho_da_pagina()
        pagina = fluxo.nsus[inicio : inicio + tamanho]
        if not pagina:
            fluxo.ult_retornado, fluxo.espera_ate = fluxo.max_nsu, agora + HORA
            return Resposta(137, MOTIVOS[137], fluxo.max_nsu, fluxo.max_nsu)
        # ultNSU is the last NSU *searched*: at the end of the stream it is maxNSU even if the last NSUs
        # are gaps, so a client that stops at ultNSU == maxNSU never loops over them.
        ultimo = pagina[-1] if inicio + tamanho < len(fluxo.nsus) else fluxo.max_nsu
        fluxo.ult_retornado = ultimo
        if ultimo == fluxo.max_nsu:
            fluxo.espera_ate = agora + HORA
        return Resposta(138, MOTIVOS[138], ultimo, fluxo.max_nsu, tuple(fluxo.documentos[n] for n in pagina))

    def _tamanho_da_pagina(self) -> int:
        # "Irregular": fewer documents than the page size even when more exist (DFe.NET#1204).
        if self.pagina_irregular and self.lote > 1:
            return self._aleatorio.randint(1, self.lote - 1)
        return self.lote

    def _consulta_avulsa(self, fluxo: Fluxo, agora: datetime) -> Resposta | None:
        """consNSU/consChNFe gate: a running block, then the 20-per-hour budget."""
        if _ativo(fluxo.bloqueado_ate, agora):
            return self._bloquear(fluxo, agora, MOTIVO_BLOQUEIO)
        fluxo.avulsas = self._avulsas_recentes(fluxo, agora)
        if len(fluxo.avulsas) >= LIMITE_AVULSAS_POR_HORA:
            return self._bloquear(fluxo, agora, MOTIVO_LIMITE)
        fluxo.avulsas.append(agora)
        return None

    @staticmethod
    def _avulsas_recentes(fluxo: Fluxo, agora: datetime) -> list[datetime]:
        return [momento for momento in fluxo.avulsas if momento > agora - HORA]

    @staticmethod
    def _bloquear(fluxo: Fluxo, agora: datetime, motivo: str) -> Resposta:
        fluxo.bloqueado_ate = agora + HORA  # a query during the block restarts the hour (§1.9 item 5)
        return Resposta(656, motivo, fluxo.ult_retornado or 0, 0)

    def _fluxo(self, documento: str, servico: str) -> Fluxo:
        if servico not in SERVICOS:
            raise ValueError(f"serviço deve ser um de {SERVICOS}")
        chave = (_normalizar(documento), servico)
        if chave not in self._fluxos:
            self._fluxos[chave] = Fluxo(ativo=not self.primeiro_uso)
        return self._fluxos[chave]


def _ativo(ate: datetime | None, agora: datetime) -> bool:
    return ate is not None and agora < ate


def _normalizar(documento: str) -> str:
    documento = somente_documento(documento or "")
    if len(documento) not in (11, 14):
        raise ValueError(f"CNPJ (14) ou CPF (11) esperado, recebido {documento!r}")
    return documento


def ler_documento(xml: bytes) -> etree._Element:
    """Parse a document to publish (no DTD, no entities, no network)."""
    try:
        return etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as erro:
        raise ValueError(f"documento não é XML: {erro}") from None


def _schema(raiz: etree._Element, servico: str) -> str:
    nome = etree.QName(raiz)
    conhecido = SCHEMAS.get((nome.namespace, nome.localname))
    if conhecido is None:
        raise ValueError(f"raiz {nome.text} desconhecida: informe schema=")
    if conhecido[0] != servico:
        raise ValueError(f"{nome.localname} não é distribuído pelo serviço {servico}")
    return conhecido[1]


def autorizada_em(raiz: etree._Element) -> datetime | None:
    """When an NF-e (resNFe or nfeProc) was authorized: the protocol's dhRecbto, else dhEmi."""
    nfe = f"{{{NS_NFE}}}"
    caminhos = (f"{nfe}dhRecbto", f"{nfe}protNFe/{nfe}infProt/{nfe}dhRecbto", f"{nfe}NFe/{nfe}infNFe/{nfe}ide/{nfe}dhEmi",
                f"{nfe}dhEmi")  # fmt: skip
    for caminho in caminhos:
        texto = (raiz.findtext(caminho) or "").strip()
        if texto:
            try:
                return datetime.fromisoformat(texto)
            except ValueError:
                return None
    return None


def chave_da_nfe(raiz: etree._Element) -> str | None:
    """The key of an NF-e (resNFe or nfeProc); events are not NF-e for consChNFe."""
    nome = etree.QName(raiz).localname
    if nome == "resNFe":
        return (raiz.findtext(f"{{{NS_NFE}}}chNFe") or "").strip() or None
    if nome == "nfeProc":
        chave = raiz.findtext(f"{{{NS_NFE}}}protNFe/{{{NS_NFE}}}infProt/{{{NS_NFE}}}chNFe")
        inf = raiz.find(f"{{{NS_NFE}}}NFe/{{{NS_NFE}}}infNFe")
        return (chave or "").strip() or (inf.get("Id", "")[3:] if inf is not None else None) or None
    return None
