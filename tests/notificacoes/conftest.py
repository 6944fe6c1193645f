"""Named people for the notification tests: the owner and a teammate of `org`, and an outsider."""

import pytest
from django.contrib.auth import get_user_model

from core.models import Membro


def criar_membro(organizacao, email: str, **campos):
    nome = email or f"sem-email-{organizacao.pk}"
    usuario = get_user_model().objects.create_user(username=nome, email=email, **campos)
    Membro.objects.create(usuario=usuario, organizacao=organizacao)
    return usuario


@pytest.fixture(autouse=True)
def _config(settings):
    settings.FISCAL_URL_PUBLICA = "https://fiscal.exemplo.com.br"
    settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL = 3
    settings.DEFAULT_FROM_EMAIL = "fiscal <nao-responda@fiscal.exemplo.com.br>"
    settings.WEBHOOK_ENTREGA_IMEDIATA = False


@pytest.fixture
def dona(nova_org):
    """Owner (administrator) of `org`: dona@alfa.com.br."""
    return nova_org.usuario


@pytest.fixture
def colega(org):
    return criar_membro(org, "colega@alfa.com.br", first_name="Carla")


@pytest.fixture
def estranho(outra_org):
    """The owner of another organization: must never receive anything about `org`."""
    return Membro.objects.get(organizacao=outra_org).usuario


def destinatarios(caixa) -> list[str]:
    return sorted(endereco for email in caixa for endereco in email.to)


def html(email) -> str:
    [(conteudo, tipo)] = email.alternatives
    assert tipo == "text/html"
    return conteudo


def enviar_fila() -> int:
    """What the worker and the cron task do: send every due e-mail of the queue; how many rows were tried."""
    from core.notifications.envio import enviar_pendentes

    total = 0
    while tentados := enviar_pendentes(limite=50):
        total += tentados
    return total
