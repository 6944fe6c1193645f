"""criar_organizacao applies Django's password validators."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from core.models import Organizacao


def test_it_refuses_a_weak_password_listing_the_validators_messages_and_accepts_a_strong_one(db):
    with pytest.raises(CommandError) as erro:
        call_command("criar_organizacao", "Contabilidade Fraca", "--usuario", "fraca@x.com", "--senha", "1")

    mensagem = str(erro.value)
    assert "muito curta" in mensagem  # MinimumLengthValidator, in pt-BR
    assert "muito comum" in mensagem  # CommonPasswordValidator
    assert not Organizacao.objects.filter(nome="Contabilidade Fraca").exists()
    assert not get_user_model().objects.filter(username="fraca@x.com").exists()

    # and: a strong password is accepted
    forte = "c4v4lo-correto-bateria"
    call_command("criar_organizacao", "Contabilidade Forte", "--usuario", "forte@x.com", "--senha", forte)
    assert get_user_model().objects.get(username="forte@x.com").check_password(forte)
