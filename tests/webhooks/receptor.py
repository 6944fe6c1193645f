"""A real HTTP receiver on 127.0.0.1 standing in for an integrator, shared by the webhook tests."""

import http.server
import socket
import threading
import time
from collections import Counter


class Receptor:
    """Answers from `respostas` ((status, headers) per request, the last one repeats).

    Records every request as it arrives (before answering): `recebidos` holds (body, lower-cased
    headers), `chegadas` the wall-clock arrival times. `demora` holds each answer that many seconds,
    so a sender can be caught mid-request. Requests for the same `webhook-id` that overlap in time are
    counted in `sobreposicoes`: an event sent twice in parallel. With `contexto_tls` (a server-side
    `ssl.SSLContext`) it answers HTTPS.
    """

    def __init__(self, respostas=((200, {}),), *, porta=0, demora=0.0, contexto_tls=None):
        self.respostas = list(respostas)
        self.demora = demora
        self.recebidos, self.chegadas, self.sobreposicoes = [], [], []
        self.em_andamento = Counter()
        self.chegou = threading.Event()
        receptor, trava = self, threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                corpo = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                cabecalhos = {k.lower(): v for k, v in self.headers.items()}
                evento_id = cabecalhos.get("webhook-id")
                with trava:
                    receptor.recebidos.append((corpo, cabecalhos))
                    receptor.chegadas.append(time.time())
                    if receptor.em_andamento[evento_id]:
                        receptor.sobreposicoes.append(evento_id)
                    receptor.em_andamento[evento_id] += 1
                    status, extras = receptor.respostas.pop(0) if len(receptor.respostas) > 1 else receptor.respostas[0]
                receptor.chegou.set()
                try:
                    time.sleep(receptor.demora)
                    self.send_response(status)
                    for nome, valor in extras.items():
                        self.send_header(nome, valor)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                finally:
                    with trava:
                        receptor.em_andamento[evento_id] -= 1

            def log_message(self, *args):
                pass

        class Servidor(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False  # a handler still sleeping must not hold the test's teardown

            def handle_error(self, request, client_address):
                pass  # a sender killed mid-request (BrokenPipe): expected in the crash tests

        self.servidor = Servidor(("127.0.0.1", porta), Handler)
        if contexto_tls is not None:
            # A handshake the client rejects fails in accept(), which socketserver ignores (OSError).
            self.servidor.socket = contexto_tls.wrap_socket(self.servidor.socket, server_side=True)
        self.porta = self.servidor.server_port
        self.url = f"{'https' if contexto_tls else 'http'}://127.0.0.1:{self.porta}/hook"
        # A short poll interval: shutdown() waits up to one interval, and every test closes a receiver.
        threading.Thread(target=self.servidor.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def fechar(self):
        self.servidor.shutdown()
        self.servidor.server_close()

    @property
    def ids(self):
        return [cabecalhos["webhook-id"] for _corpo, cabecalhos in self.recebidos]

    def ocupado(self) -> bool:
        """Some request is being answered right now."""
        return any(n > 0 for n in self.em_andamento.values())


def porta_livre() -> int:
    """A local port nothing listens on (yet): connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def esperar(condicao, prazo: float = 10.0, passo: float = 0.02) -> bool:
    """Poll `condicao()` until it holds or `prazo` seconds pass; return its last value."""
    fim = time.monotonic() + prazo
    while not (resultado := condicao()) and time.monotonic() < fim:
        time.sleep(passo)
    return resultado
