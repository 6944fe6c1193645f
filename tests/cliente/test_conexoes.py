"""Keep-alive: the client reuses one connection, and fechar() really closes it."""

import http.server
import threading

import pytest

from fiscal_api_client import FiscalAPIClient, ValidacaoError
from tests.webhooks.receptor import esperar


class Servidor:
    """An HTTP/1.1 server on 127.0.0.1 that counts the TCP connections it has open and has ever accepted."""

    def __init__(self):
        self.abertas, self.aceitas = set(), 0
        servidor = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self):
                super().setup()
                servidor.abertas.add(self)
                servidor.aceitas += 1

            def finish(self):
                super().finish()
                servidor.abertas.discard(self)

            def do_GET(self):
                status, corpo = (400, b'{"erro": "Par\\u00e2metros inv\\u00e1lidos.", "detalhes": {"situacao": ["x"]}}')
                if self.path.startswith("/api/dashboard/"):
                    status, corpo = 200, b'{"hoje": {}}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(corpo)))
                self.end_headers()
                self.wfile.write(corpo)

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


@pytest.fixture
def servidor():
    servidor = Servidor()
    yield servidor
    servidor.http.shutdown()
    servidor.http.server_close()


def test_calls_share_one_keep_alive_connection(servidor):
    with FiscalAPIClient(servidor.url, "tok") as cliente:
        for _ in range(3):
            cliente.dashboard()

        assert servidor.aceitas == 1 and len(servidor.abertas) == 1


def test_fechar_closes_the_connection_even_while_an_error_keeps_its_response(servidor):
    cliente = FiscalAPIClient(servidor.url, "tok")
    with pytest.raises(ValidacaoError) as erro:
        cliente.listar_nfes(situacao="x")
    cliente.dashboard()

    cliente.fechar()

    assert esperar(lambda: not servidor.abertas, prazo=5)
    assert erro.value.resposta.status_code == 400 and erro.value.detalhes == {"situacao": ["x"]}
