"""Middleware fixtures: both middlewares on with known settings, a frozen clock, one client per tenant."""

import random

import pytest
from django.core.cache import caches

import core.limite.contadores
from core.limite.contadores import JANELA_SEGUNDOS
from core.middleware import esquecer_tokens
from core.registro_requisicoes import registro
from tests.api.conftest import cliente_com_token

URL = "/api/integracoes/eventos/"  # a cheap authenticated endpoint


@pytest.fixture(autouse=True)
def _config(settings):
    settings.RATE_LIMIT_PER_MINUTE = 100
    settings.RATE_LIMIT_CACHE = "default"
    settings.RATE_LIMIT_CACHE_SEGUNDOS = 60
    settings.FISCAL_PROXIES_CONFIAVEIS = []
    settings.APIREQUESTLOG_ATIVO = True
    settings.APIREQUESTLOG_LOTE = 1  # rows written at once, inside the test's transaction
    esquecer_tokens()
    caches[settings.RATE_LIMIT_CACHE].clear()  # user ids repeat across tests: no counter carries over
    yield
    registro.parar()
    esquecer_tokens()


class Relogio:
    """Stands in for `core.limite.contadores.relogio`: a fixed instant that only moves when told to."""

    def __init__(self, agora: float):
        self.agora = agora

    def __call__(self) -> float:
        return self.agora

    def avancar(self, segundos: float) -> None:
        self.agora += segundos

    @property
    def fim_da_janela(self) -> int:
        return (int(self.agora // JANELA_SEGUNDOS) + 1) * JANELA_SEGUNDOS


@pytest.fixture
def relogio(monkeypatch):
    """10.25 s into a minute no other test (nor an earlier run, with Redis) has used: no shared counters."""
    relogio = Relogio(random.randrange(10**6, 10**7) * JANELA_SEGUNDOS + 10.25)
    monkeypatch.setattr(core.limite.contadores, "relogio", relogio)
    return relogio


@pytest.fixture
def api(nova_org):
    """Token client of the owner of `org`."""
    return cliente_com_token(nova_org.usuario)


@pytest.fixture
def api_outra(outra_org):
    """Token client of the owner of `outra_org`."""
    from core.models import Membro

    return cliente_com_token(Membro.objects.get(organizacao=outra_org).usuario)
