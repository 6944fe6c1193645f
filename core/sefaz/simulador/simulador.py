"""`Simulador`: the local Ambiente Nacional the tests, the demo and the benchmark talk to over real TLS.

    with Simulador(ambiente=1, lote=50) as sim:
        sim.publicar("11222333000181", "nfe", xml)
        ... point the client at sim.url_nfe_distribuicao, verify the server with sim.ca_pem ...
        sim.avancar(minutos=61)
        assert sim.chamadas[-1].cstat == 137

Listens on 127.0.0.1 only (ephemeral port by default), in a background thread.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from lxml import etree

from core.geracao.certificado import autoridade_teste, gerar_certificado_servidor
from core.geracao.documentos import DocumentoGerado, gerar_resumo_nfe

from . import distribuicao, eventos
from .armazem import MAX_LOTE, Armazem, EventoRegistrado, Relogio, SituacaoFluxo, chave_da_nfe, ler_documento
from .servidor import Requisicao, RespostaHttp, ServidorTLS
from .soap import (
    OPERACOES,
    SOAP12,
    FalhaSoap,
    content_type,
    ler_pedido,
    montar_falha,
    montar_resposta,
    versao_do_pedido,
)
from .tls import confiar, contexto_servidor, escrever_pem

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
CAMINHOS_PADRAO = {
    "nfe": "/NFeDistribuicaoDFe/NFeDistribuicaoDFe.asmx",
    "cte": "/CTeDistribuicaoDFe/CTeDistribuicaoDFe.asmx",
    "evento": "/NFeRecepcaoEvento4/NFeRecepcaoEvento4.asmx",
}
# Injectable failures: a SOAP Fault (HTTP 500), HTTP 503, a cStat of "service stopped" or "unknown
# error", the connection dropped without an answer, or an answer delayed by `segundos`. Two of them
# LOSE an answer the AN did give: `perder_resposta` processes the request (the NSU sequence moves on)
# and then drops the connection; `responder_tarde` processes it and answers `segundos` later (past the
# client's timeout).
# What IIS/http.sys sends when the application pool is down: HTML, and not well-formed XML.
PAGINA_503 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    b"<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    b"<BODY><h2>Service Unavailable</h2>\r\n"
    b"<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n</BODY></HTML>\r\n"
)
MODOS_DE_FALHA = ("soap_fault", "http_503", "cstat_108", "cstat_109", "cstat_999", "queda", "lenta",
                  "perder_resposta", "responder_tarde")  # fmt: skip
_PROCESSAM = ("lenta", "perder_resposta", "responder_tarde")  # the request is served as usual


@dataclass(frozen=True)
class Chamada:
    """One request received, as tests assert on it ("no call was made", "the NSU asked was ...")."""

    servico: str  # nfe, cte or evento
    tipo: str | None  # distNSU, consNSU, consChNFe or evento; None when the request could not be read
    documento: str | None  # CNPJ/CPF as sent (events: the certificate's)
    nsu: int | None
    cstat: int | None  # None: no SEFAZ answer (SOAP Fault, HTTP error, dropped connection)
    momento: datetime  # simulated clock
    chave: str | None = None
    falha: str | None = None  # the injected failure, or "soap_fault" for an unreadable request


@dataclass
class _Falha:
    restantes: int
    modo: str
    segundos: float
    servico: str | None


class Simulador:
    def __init__(
        self,
        *,
        ambiente: int = 1,
        lote: int = MAX_LOTE,
        pagina_irregular: bool = False,
        primeiro_uso: bool = False,
        porta: int = 0,
        caminhos: dict[str, str] | None = None,
        cas_confiaveis: Iterable[x509.Certificate] | None = None,
        diretorio: str | None = None,
    ):
        if ambiente not in (1, 2):
            raise ValueError("ambiente deve ser 1 (produção) ou 2 (homologação)")
        self.ambiente, self.porta = ambiente, porta
        self.relogio = Relogio()
        self.armazem = Armazem(self.relogio, lote=lote, pagina_irregular=pagina_irregular, primeiro_uso=primeiro_uso)
        self.caminhos = {**CAMINHOS_PADRAO, **(caminhos or {})}
        self._servico_do_caminho = {caminho: servico for servico, caminho in self.caminhos.items()}
        self._cas = list(cas_confiaveis) if cas_confiaveis is not None else [autoridade_teste()[1]]
        self._diretorio, self._diretorio_proprio = diretorio, diretorio is None
        self._trava = threading.Lock()
        self._chamadas: list[Chamada] = []
        self._recusas_tls: list[str] = []
        self._falhas: list[_Falha] = []
        self._servidor: ServidorTLS | None = None
        self._thread: threading.Thread | None = None
        self.ca_pem = ""

    # --- lifecycle ------------------------------------------------------------------------------

    def iniciar(self) -> Simulador:
        certificado = gerar_certificado_servidor()
        if self._diretorio is None:
            self._diretorio = tempfile.mkdtemp(prefix="sefaz-simulador-")
        os.makedirs(self._diretorio, exist_ok=True)
        self.ca_pem = escrever_pem(os.path.join(self._diretorio, "ca-simulador-sefaz.pem"), certificado.cadeia)
        self._contexto = contexto_servidor(certificado, self._cas)
        self._servidor = ServidorTLS((HOST, self.porta), self._contexto, self._atender, self._registrar_recusa)
        self.porta = self._servidor.server_address[1]
        self._thread = threading.Thread(target=self._servidor.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sefaz-simulador", daemon=True)  # fmt: skip
        self._thread.start()
        logger.info("simulador SEFAZ em https://%s:%s", HOST, self.porta)
        return self

    def parar(self) -> None:
        if self._servidor is None:
            return
        self._servidor.shutdown()
        self._servidor.fechar_conexoes()
        self._servidor.server_close()
        self._thread.join(timeout=5)
        self._servidor = self._thread = None
        if self._diretorio_proprio and self._diretorio:
            shutil.rmtree(self._diretorio, ignore_errors=True)
            self._diretorio = None

    def __enter__(self) -> Simulador:
        return self.iniciar()

    def __exit__(self, *excecao) -> None:
        self.parar()

    # --- where it listens -----------------------------------------------------------------------

    def url(self, servico: str) -> str:
        return f"https://{HOST}:{self.porta}{self.caminhos[servico]}"

    @property
    def url_nfe_distribuicao(self) -> str:
        return self.url("nfe")

    @property
    def url_cte_distribuicao(self) -> str:
        return self.url("cte")

    @property
    def url_nfe_evento(self) -> str:
        return self.url("evento")

    def confiar_em(self, ca: x509.Certificate) -> None:
        """Accept client certificates issued by ``ca`` too (also while running)."""
        self._cas.append(ca)
        if self._servidor is not None:
            confiar(self._contexto, ca)

    # --- data -----------------------------------------------------------------------------------

    def publicar(self, cnpj: str, servico: str, xml: bytes, schema: str | None = None) -> int | None:
        """Next NSU of (cnpj, servico) with ``xml``; None with `primeiro_uso` before the CNPJ's first distNSU."""
        return self.armazem.publicar(cnpj, servico, xml, schema)

    def publicar_para_destinatario(self, cnpj_destinatario: str, nfe_proc: bytes | DocumentoGerado) -> int | None:
        """A resNFe built from the nfeProc now; the nfeProc itself in a new NSU after a ciência,
        confirmação or operação não realizada of that CNPJ. Returns the resNFe's NSU."""
        xml = nfe_proc.xml if isinstance(nfe_proc, DocumentoGerado) else nfe_proc
        raiz = ler_documento(xml)
        chave = chave_da_nfe(raiz)
        if etree.QName(raiz).localname != "nfeProc" or not chave:
            raise ValueError("publicar_para_destinatario espera um nfeProc com chave")
        resumo = gerar_resumo_nfe(nfe=DocumentoGerado(chave, xml))
        return self.armazem.publicar_resumo(cnpj_destinatario, chave, resumo.xml, xml)

    def pular_nsu(self, cnpj: str, servico: str, quantidade: int = 1) -> int:
        return self.armazem.pular_nsu(cnpj, servico, quantidade)

    def situacao(self, cnpj: str, servico: str) -> SituacaoFluxo:
        return self.armazem.situacao(cnpj, servico)

    @property
    def eventos_registrados(self) -> list[EventoRegistrado]:
        return self.armazem.eventos_registrados()

    @property
    def lote(self) -> int:
        return self.armazem.lote

    @lote.setter
    def lote(self, valor: int) -> None:
        self.armazem.lote = valor

    @property
    def pagina_irregular(self) -> bool:
        return self.armazem.pagina_irregular

    @pagina_irregular.setter
    def pagina_irregular(self, valor: bool) -> None:
        self.armazem.pagina_irregular = valor

    # --- time, failures, what was received ------------------------------------------------------

    def avancar(self, *, dias: float = 0, horas: float = 0, minutos: float = 0, segundos: float = 0) -> datetime:
        return self.relogio.avancar(dias=dias, horas=horas, minutos=minutos, segundos=segundos)

    def falhar_proximas(self, n: int, modo: str, *, segundos: float = 5.0, servico: str | None = None) -> None:
        """The next ``n`` requests (of ``servico``, or any) fail in ``modo`` (see MODOS_DE_FALHA)."""
        if n < 1 or modo not in MODOS_DE_FALHA:
            raise ValueError(f"n deve ser ≥ 1 e modo um de {MODOS_DE_FALHA}")
        if servico is not None and servico not in CAMINHOS_PADRAO:
            raise ValueError(f"serviço deve ser um de {tuple(CAMINHOS_PADRAO)}")
        with self._trava:
            self._falhas.append(_Falha(n, modo, segundos, servico))

    @property
    def chamadas(self) -> list[Chamada]:
        with self._trava:
            return list(self._chamadas)

    def limpar_chamadas(self) -> None:
        with self._trava:
            self._chamadas.clear()

    @property
    def recusas_tls(self) -> list[str]:
        """Why each refused TLS handshake failed (no certificate, unknown CA, expired...)."""
        with self._trava:
            return list(self._recusas_tls)

    # --- serving --------------------------------------------------------------------------------

    def _atender(self, requisicao: Requisicao) -> RespostaHttp:
        try:
            return self._atender_servico(requisicao)
        except Exception:  # a bug here must show up as an answer, not as a silently dropped connection
            logger.exception("simulador SEFAZ: erro ao atender %s", requisicao.caminho)
            mensagem = "Server was unable to process request. ---> erro interno do simulador"
            return RespostaHttp(500, montar_falha(SOAP12, mensagem, do_cliente=False), content_type(SOAP12))

    def _atender_servico(self, requisicao: Requisicao) -> RespostaHttp:
        servico = self._servico_do_caminho.get(requisicao.caminho)
        if servico is None:
            return RespostaHttp(404, b"nao encontrado")
        falha = self._proxima_falha(servico)
        if falha is not None and falha.modo not in _PROCESSAM:
            return self._falhar(servico, falha.modo, requisicao)
        if falha is not None and falha.modo == "lenta":
            time.sleep(falha.segundos)
        operacao = OPERACOES[servico]
        try:
            pedido = _ler(operacao, requisicao)
        except FalhaSoap as erro:
            self._registrar(Chamada(servico, None, None, None, None, self.relogio.agora(), falha="soap_fault"))
            return RespostaHttp(500, montar_falha(erro.versao, erro.mensagem), content_type(erro.versao))
        identidade = requisicao.identidade
        if servico == "evento":
            atendimento = eventos.atender(pedido.dados, identidade, self.armazem, self.ambiente)
        else:
            atendimento = distribuicao.atender(servico, pedido.dados, identidade, self.armazem, self.ambiente)
        self._registrar(Chamada(servico, atendimento.tipo, atendimento.documento, atendimento.nsu, atendimento.cstat,
                                self.relogio.agora(), atendimento.chave, falha.modo if falha else None))  # fmt: skip
        if falha is not None and falha.modo == "perder_resposta":
            return RespostaHttp(0, derrubar=True)
        if falha is not None and falha.modo == "responder_tarde":
            time.sleep(falha.segundos)
        return RespostaHttp(200, montar_resposta(operacao, pedido.versao, atendimento.xml), content_type(pedido.versao))

    def _falhar(self, servico: str, modo: str, requisicao: Requisicao) -> RespostaHttp:
        resposta, cstat = self._resposta_de_falha(servico, modo, requisicao)
        self._registrar(Chamada(servico, None, None, None, cstat, self.relogio.agora(), falha=modo))
        return resposta

    def _resposta_de_falha(self, servico: str, modo: str, requisicao: Requisicao) -> tuple[RespostaHttp, int | None]:
        cabecalhos = requisicao.cabecalhos
        versao = versao_do_pedido(cabecalhos.get("Content-Type")) or SOAP12
        if modo == "queda":
            return RespostaHttp(0, derrubar=True), None
        if modo == "http_503":
            return RespostaHttp(503, PAGINA_503, "text/html; charset=us-ascii"), None
        if modo == "soap_fault":
            mensagem = "Server was unable to process request. ---> Erro interno simulado"
            return RespostaHttp(500, montar_falha(versao, mensagem, do_cliente=False), content_type(versao)), None
        operacao, cstat = OPERACOES[servico], int(modo.removeprefix("cstat_"))
        try:
            pedido = _ler(operacao, requisicao)
        except FalhaSoap as erro:
            return RespostaHttp(500, montar_falha(erro.versao, erro.mensagem), content_type(erro.versao)), None
        if servico == "evento":
            xml = eventos.retorno_de_paralisacao(pedido.dados, cstat, self.ambiente)
        else:
            xml = distribuicao.retorno_de_paralisacao(servico, cstat, self.ambiente, self.relogio.agora())
        return RespostaHttp(200, montar_resposta(operacao, pedido.versao, xml), content_type(pedido.versao)), cstat

    def _proxima_falha(self, servico: str) -> _Falha | None:
        with self._trava:
            for falha in self._falhas:
                if falha.servico in (None, servico):
                    falha.restantes -= 1
                    if falha.restantes <= 0:
                        self._falhas.remove(falha)
                    return falha
        return None

    def _registrar(self, chamada: Chamada) -> None:
        with self._trava:
            self._chamadas.append(chamada)

    def _registrar_recusa(self, motivo: str) -> None:
        with self._trava:
            self._recusas_tls.append(motivo)


def _ler(operacao, requisicao: Requisicao):
    cabecalhos = requisicao.cabecalhos
    return ler_pedido(operacao, requisicao.corpo, cabecalhos.get("Content-Type"), cabecalhos.get("SOAPAction"))
