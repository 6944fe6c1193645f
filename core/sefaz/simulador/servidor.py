"""HTTPS plumbing: a threaded HTTP/1.1 server whose connections are TLS with a required client certificate.

The TLS handshake runs in the connection's own thread (not in the accept loop), so a client that
stalls or is refused cannot hold up the others. Keep-alive is on, as SOAP clients reuse connections.
What to answer is decided by the ``atender`` callable; this module only moves bytes.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .tls import Identidade, identidade_do_certificado

logger = logging.getLogger(__name__)

LIMITE_DO_CORPO = 1024 * 1024
TEMPO_DO_HANDSHAKE = 10.0


@dataclass(frozen=True)
class Requisicao:
    caminho: str
    cabecalhos: Message
    corpo: bytes
    identidade: Identidade


@dataclass(frozen=True)
class RespostaHttp:
    status: int
    corpo: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    derrubar: bool = False  # drop the connection without answering


class ServidorTLS(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endereco: tuple[str, int], contexto: ssl.SSLContext,
                 atender: Callable[[Requisicao], RespostaHttp], ao_recusar: Callable[[str], None]):  # fmt: skip
        self.contexto, self.atender, self.ao_recusar = contexto, atender, ao_recusar
        self._conexoes: set[ssl.SSLSocket] = set()
        self._trava = threading.Lock()
        super().__init__(endereco, _Manipulador)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can stall without network.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request: socket.socket, client_address) -> None:
        # Headers and body go out as two TLS records; with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms per answer on a kept-alive connection).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cru = request.dup()  # wrap_socket detaches `request`; this handle outlives a failed handshake
        tls = self.contexto.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            tls.settimeout(TEMPO_DO_HANDSHAKE)
            tls.do_handshake()
        except (ssl.SSLError, OSError) as erro:
            # No certificate, one from an untrusted CA, expired, TLS < 1.2: refused before any HTTP.
            logger.info("simulador SEFAZ: conexão TLS recusada: %s", erro)
            self.ao_recusar(str(erro))
            _fechar_devagar(cru)
            tls.close()
            return
        cru.close()
        with self._trava:
            self._conexoes.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            with self._trava:
                self._conexoes.discard(tls)
            tls.close()

    def fechar_conexoes(self) -> None:
        """Close the kept-alive connections, so no handler thread outlives the simulator."""
        with self._trava:
            conexoes = list(self._conexoes)
        for conexao in conexoes:
            try:
                conexao.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        # socketserver calls this from inside its except block: exc_info is the connection's error.
        logger.debug("simulador SEFAZ: erro na conexão de %s", client_address, exc_info=True)  # noqa: LOG014


class _Manipulador(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SimuladorSEFAZ/1.0"
    sys_version = ""
    timeout = 30
    _identidade: Identidade | None = None

    def do_POST(self) -> None:
        tamanho = self.headers.get("Content-Length", "")
        if not tamanho.isdigit():
            self._responder(RespostaHttp(411, b"Content-Length obrigatorio"))
            return
        if int(tamanho) > LIMITE_DO_CORPO:
            self.close_connection = True
            self._responder(RespostaHttp(413, b"mensagem grande demais"))
            return
        corpo = self.rfile.read(int(tamanho))
        requisicao = Requisicao(urlsplit(self.path).path, self.headers, corpo, self._identidade_do_cliente())
        self._responder(self.server.atender(requisicao))

    def do_GET(self) -> None:
        # The WSDLs ship with the client; `?wsdl` is not served.
        self._responder(RespostaHttp(404, b"nao encontrado"))

    def _identidade_do_cliente(self) -> Identidade:
        if self._identidade is None:
            self._identidade = identidade_do_certificado(self.connection.getpeercert(binary_form=True))
        return self._identidade

    def _responder(self, resposta: RespostaHttp) -> None:
        if resposta.derrubar:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(resposta.status)
        self.send_header("Content-Type", resposta.content_type)
        self.send_header("Content-Length", str(len(resposta.corpo)))
        self.end_headers()
        self.wfile.write(resposta.corpo)

    def log_message(self, formato: str, *argumentos) -> None:
        logger.debug("simulador SEFAZ: " + formato, *argumentos)


def _fechar_devagar(conexao: socket.socket) -> None:
    """Close after the client has read our TLS alert.

    With TLS 1.3 the client sends its request before learning that its certificate was refused; closing
    with that request unread makes the kernel send a RST, which can destroy the alert, and the client
    would see a bare EOF instead of "certificate required" / "unknown ca".
    """
    try:
        conexao.shutdown(socket.SHUT_WR)
        conexao.settimeout(1.0)
        while conexao.recv(65536):
            pass
    except OSError:
        pass
    finally:
        conexao.close()
