"""Encryption at rest: Fernet keys from FIELD_ENCRYPTION_KEY, rotation, development fallback, the field."""

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models
from django.db.models import Q
from django.test import override_settings
from django.test.utils import isolate_apps

from core.cripto import (
    CampoCifrado,
    CampoJSONCifrado,
    CifraInvalida,
    cifrar,
    decifrar,
    decifrar_texto,
    recifrar,
    verificar_configuracao,
)

CHAVE_ANTIGA = Fernet.generate_key().decode()
CHAVE_NOVA = Fernet.generate_key().decode()
PRODUCAO = {"DEBUG": False, "FISCAL_CHAVE_DE_DESENVOLVIMENTO": False}


@pytest.fixture(autouse=True)
def chave_unica():
    with override_settings(FIELD_ENCRYPTION_KEY=CHAVE_ANTIGA, **PRODUCAO):
        yield


def test_it_round_trips_text_and_bytes():
    token = cifrar("senha do certificado: çã€")

    assert isinstance(token, str)
    assert "senha" not in token
    assert decifrar_texto(token) == "senha do certificado: çã€"
    assert decifrar(cifrar(b"\x30\x82\x00PFX")) == b"\x30\x82\x00PFX"


def test_it_produces_a_different_token_each_time():
    assert cifrar("mesmo valor") != cifrar("mesmo valor")


def test_it_refuses_what_is_neither_text_nor_bytes():
    with pytest.raises(TypeError):
        cifrar(123)


def test_it_decrypts_old_tokens_after_a_new_key_is_put_first():
    token_antigo = cifrar("segredo")

    with override_settings(FIELD_ENCRYPTION_KEY=f"{CHAVE_NOVA}, {CHAVE_ANTIGA}"):
        assert decifrar_texto(token_antigo) == "segredo"
        token_novo = cifrar("outro")

    # The first key encrypts: the old key alone cannot read what was written after the rotation.
    with pytest.raises(CifraInvalida):
        decifrar(token_novo)


def test_it_reencrypts_with_the_new_key_so_the_old_one_can_be_dropped():
    token_antigo = cifrar("segredo")

    with override_settings(FIELD_ENCRYPTION_KEY=[CHAVE_NOVA, CHAVE_ANTIGA]):
        token_recifrado = recifrar(token_antigo)

    with override_settings(FIELD_ENCRYPTION_KEY=CHAVE_NOVA):
        assert decifrar_texto(token_recifrado) == "segredo"
        with pytest.raises(CifraInvalida):
            decifrar(token_antigo)
        with pytest.raises(CifraInvalida):
            recifrar(token_antigo)


def test_it_fails_clearly_on_a_token_from_an_unknown_key():
    token = Fernet(Fernet.generate_key()).encrypt(b"segredo").decode()

    with pytest.raises(CifraInvalida, match="FIELD_ENCRYPTION_KEY"):
        decifrar(token)


def test_it_fails_clearly_on_a_corrupted_token():
    with pytest.raises(CifraInvalida):
        decifrar("isto-nao-e-um-token")


@pytest.mark.parametrize("valor", [None, "", " , "])
def test_it_refuses_to_run_without_a_key_in_production(valor):
    with override_settings(FIELD_ENCRYPTION_KEY=valor):
        with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY não está configurada"):
            cifrar("segredo")
        with pytest.raises(ImproperlyConfigured):
            verificar_configuracao()


def test_it_refuses_an_invalid_key_without_echoing_it():
    with override_settings(FIELD_ENCRYPTION_KEY=f"{CHAVE_NOVA},chave-curta-demais"):
        with pytest.raises(ImproperlyConfigured, match="chave nº 2") as erro:
            cifrar("segredo")

    assert "chave-curta-demais" not in str(erro.value)
    assert "Fernet.generate_key" in str(erro.value)


@pytest.mark.parametrize("modo", [{"DEBUG": True}, {"FISCAL_CHAVE_DE_DESENVOLVIMENTO": True}])
def test_it_derives_a_development_key_from_secret_key(modo, caplog):
    with override_settings(FIELD_ENCRYPTION_KEY=None, SECRET_KEY=f"segredo-de-teste-{modo}", **modo):
        with caplog.at_level(logging.WARNING, logger="core.cripto"):
            token = cifrar("segredo")
            assert decifrar_texto(token) == "segredo"
            cifrar("de novo")

    avisos = [r for r in caplog.records if "chave de desenvolvimento" in r.getMessage()]
    assert len(avisos) == 1


def test_the_development_key_is_stable():
    # A pinned value: changing the derivation would make every development database unreadable.
    token = Fernet("KxCjiH6qBxmq0ehZwCpootAtVQ1P0teEc6zbtrr3Bck=").encrypt(b"segredo").decode()

    with override_settings(FIELD_ENCRYPTION_KEY="", SECRET_KEY="dev-only-insecure-key-change-me", DEBUG=True):
        assert decifrar_texto(token) == "segredo"


def test_a_configured_key_wins_over_the_development_key():
    token = cifrar("segredo")

    with override_settings(DEBUG=True):
        assert decifrar_texto(token) == "segredo"


# CampoCifrado: no model uses it yet, so its conversion methods are exercised directly.


def test_the_field_stores_a_token_and_reads_back_text():
    campo = CampoCifrado()
    guardado = campo.get_prep_value("senha-do-pfx")

    assert guardado != "senha-do-pfx"
    lido = campo.from_db_value(guardado, None, None)
    assert lido == "senha-do-pfx"
    assert isinstance(lido, str)
    assert "senha-do-pfx" not in repr(lido)
    assert campo.get_prep_value(None) is None
    assert campo.from_db_value(None, None, None) is None


def test_the_binary_field_keeps_bytes():
    campo = CampoCifrado(binario=True)

    lido = campo.from_db_value(campo.get_prep_value(b"\x30\x82PFX"), None, None)

    assert lido == b"\x30\x82PFX"
    assert "PFX" not in repr(lido)
    with pytest.raises(TypeError):
        campo.get_prep_value("texto")


def test_the_field_does_not_decrypt_in_to_python():
    assert CampoCifrado().to_python("valor digitado") == "valor digitado"


def test_the_field_deconstructs_for_migrations():
    nome, caminho, args, kwargs = CampoCifrado(blank=True, binario=True).deconstruct()

    assert caminho == "core.cripto.CampoCifrado"
    assert kwargs == {"blank": True, "binario": True}
    assert CampoCifrado(*args, **kwargs).binario is True
    assert "binario" not in CampoCifrado().deconstruct()[3]


def test_the_field_cannot_be_searched_by_value():
    campo = CampoCifrado()

    assert campo.get_lookup("exact") is None
    assert campo.get_lookup("icontains") is None
    assert campo.get_lookup("isnull") is not None


@isolate_apps("core")
def test_a_query_by_value_is_an_error_not_an_empty_result():
    class ComSegredo(models.Model):  # noqa: DJ008 (a throwaway model of this test)
        segredo = CampoCifrado(null=True)

        class Meta:
            app_label = "core"

    with pytest.raises(FieldError):
        ComSegredo.objects.filter(segredo="x")
    assert "IS NULL" in str(ComSegredo.objects.filter(Q(segredo__isnull=True)).query)


def test_the_json_field_stores_one_token_and_reads_back_the_object_with_hidden_values():
    campo = CampoJSONCifrado()
    guardado = campo.get_prep_value({"Authorization": "Bearer segredo-do-erp", "X-Tentativas": 3})

    assert "segredo-do-erp" not in guardado and "Authorization" not in guardado
    lido = campo.from_db_value(guardado, None, None)
    assert lido == {"Authorization": "Bearer segredo-do-erp", "X-Tentativas": 3}
    assert "segredo-do-erp" not in repr(lido)  # tracebacks and %r show the names only
    assert campo.get_prep_value(None) is None and campo.from_db_value(None, None, None) is None
    assert campo.get_lookup("exact") is None
