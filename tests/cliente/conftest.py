"""Client fixtures: a FiscalAPIClient talking to a live server, and a frozen rate-limit clock."""

import random

import pytest

import core.limite.contadores
from core.limite.contadores import JANELA_SEGUNDOS
from core.middleware import esquecer_tokens
from fiscal_api_client import FiscalAPIClient


class ClienteSemEspera(FiscalAPIClient):
    """The real client, except that it records its waits instead of sleeping them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.esperas = []

    def _dormir(self, segundos):
        self.esperas.append(segundos)


@pytest.fixture
def cliente(live_server, nova_org):
    """The owner of `org`, through HTTP, against the live server (closed at teardown: see `novo_cliente`)."""
    with ClienteSemEspera(live_server.url, nova_org.token) as cliente:
        yield cliente


@pytest.fixture
def novo_cliente(live_server):
    """novo_cliente(token, **opcoes): more clients of the live server, all closed at teardown.

    A client left open keeps a keep-alive socket, and the server thread serving it would outlive the
    live server (and its shared database connection) at the end of the session.
    """
    abertos = []

    def novo(token, **opcoes):
        abertos.append(ClienteSemEspera(live_server.url, token, **opcoes))
        return abertos[-1]

    yield novo
    for cliente in abertos:
        cliente.fechar()


@pytest.fixture
def sem_atraso_no_feed(settings):
    # The feed holds back the last few seconds of events (late commits); the tests read them at once.
    settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS = 0


class Relogio:
    """Stands in for `core.limite.contadores.relogio`: a fixed instant that only moves when told to."""

    def __init__(self, agora: float):
        self.agora = agora

    def __call__(self) -> float:
        return self.agora

    def avancar(self, segundos: float) -> None:
        self.agora += segundos


@pytest.fixture
def relogio(monkeypatch):
    """A minute no other test has used, so no rate-limit counter is shared."""
    esquecer_tokens()
    relogio = Relogio(random.randrange(10**6, 10**7) * JANELA_SEGUNDOS + 10.25)
    monkeypatch.setattr(core.limite.contadores, "relogio", relogio)
    yield relogio
    esquecer_tokens()
