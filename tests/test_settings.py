"""With no environment the project needs nothing installed; with it, it uses what it is given."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parent.parent


def _configuracao(ambiente: dict) -> list[str]:
    codigo = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE']); print(s.CACHES['default']['BACKEND']); print(s.EMAIL_BACKEND)"
    )
    limpo = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "EMAIL_BACKEND")}
    saida = subprocess.run(
        [sys.executable, "-c", codigo], cwd=RAIZ, env={**limpo, "DJANGO_SETTINGS_MODULE": "fiscal_app.settings", **ambiente},
        capture_output=True, text=True, check=True,
    )
    return saida.stdout.split()


def test_without_environment_it_uses_sqlite_local_memory_and_file_email():
    assert _configuracao({}) == [
        "fiscal_app.sqlite",  # Django's SQLite backend with the real variable limit
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.mail.backends.filebased.EmailBackend",
    ]


def test_database_and_cache_urls_select_postgresql_and_redis():
    motor, cache, _ = _configuracao(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/fiscal", "CACHE_URL": "redis://127.0.0.1:6379/1"}
    )
    assert motor == "django.db.backends.postgresql"
    assert cache == "django.core.cache.backends.redis.RedisCache"


# --- Every environment variable is documented ------------------------------------------------------

CONFIGURACOES = [RAIZ / "fiscal_app" / "settings.py", RAIZ / "deploy" / "gunicorn.conf.py"]


def variaveis_lidas(arquivo: Path) -> set[str]:
    """Names read from the environment: env("X"), env.<type>("X", ...), os.environ.get/getenv("X"), os.environ["X"]."""
    nomes = set()
    for no in ast.walk(ast.parse(arquivo.read_text(encoding="utf-8"))):
        if isinstance(no, ast.Call) and no.args and _le_do_ambiente(no.func):
            primeiro = no.args[0]
            if isinstance(primeiro, ast.Constant) and isinstance(primeiro.value, str):
                nomes.add(primeiro.value)
        elif isinstance(no, ast.Subscript) and ast.unparse(no.value) == "os.environ":
            if isinstance(no.slice, ast.Constant):
                nomes.add(no.slice.value)
    return nomes


def _le_do_ambiente(funcao: ast.expr) -> bool:
    texto = ast.unparse(funcao)
    if texto in ("env", "os.environ.get", "os.getenv"):
        return True
    return texto.startswith("env.") and texto != "env.read_env"


def todas_as_variaveis() -> set[str]:
    return set().union(*(variaveis_lidas(arquivo) for arquivo in CONFIGURACOES))


def variaveis_do_readme() -> set[str]:
    """The names in the first column of the tables of README's "Configuração" section."""
    texto = (RAIZ / "README.md").read_text(encoding="utf-8")
    secao = re.search(r"^## Configuração\n(.*?)^## ", texto, re.S | re.M)
    assert secao, "README.md perdeu a seção Configuração"
    primeiras_colunas = [linha.split("|")[1] for linha in secao.group(1).splitlines() if linha.startswith("| `")]
    return {nome for coluna in primeiras_colunas for nome in re.findall(r"`([A-Z][A-Z0-9_]+)`", coluna)}


def variaveis_do_env_example() -> set[str]:
    texto = (RAIZ / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", texto, re.M))


def test_the_parser_finds_what_settings_and_gunicorn_read():
    lidas = todas_as_variaveis()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CACHE_URL", "EMAIL_HOST", "EMAIL_TIMEOUT", "STATIC_ROOT"} <= lidas
    assert {"GUNICORN_BIND", "GUNICORN_WORKERS", "FORWARDED_ALLOW_IPS"} <= lidas
    assert len(lidas) > 60


def test_every_variable_read_is_in_the_readme_configuration_tables():
    assert sorted(todas_as_variaveis() - variaveis_do_readme()) == []


def test_every_variable_in_the_readme_tables_is_really_read():
    assert sorted(variaveis_do_readme() - todas_as_variaveis()) == []


def test_every_variable_read_is_in_env_example_and_nothing_else_is():
    assert sorted(todas_as_variaveis() - variaveis_do_env_example()) == []
    assert sorted(variaveis_do_env_example() - todas_as_variaveis()) == []


# --- E-mail and static files -----------------------------------------------------------------------


def desenvolvimento() -> dict:
    """A process environment with none of the variables settings read, but DEBUG: development, as `make run`
    (outside DEBUG the settings refuse to start without the keys, tests/test_configuracao_fechada.py)."""
    limpo = {k: v for k, v in os.environ.items() if k not in todas_as_variaveis()}
    return {**limpo, "DJANGO_SETTINGS_MODULE": "fiscal_app.settings", "DEBUG": "true"}


def _valores(ambiente: dict, *nomes: str) -> list[str]:
    """repr() of each setting (or expression over the settings `s`) in a fresh process with `ambiente`."""
    expressoes = [nome if "(" in nome else f"s.{nome}" for nome in nomes]
    codigo = "import django; django.setup(); from django.conf import settings as s; " + "; ".join(
        f"print(repr({expressao}))" for expressao in expressoes
    )
    execucao = subprocess.run(
        [sys.executable, "-c", codigo], cwd=RAIZ, capture_output=True, text=True, env={**desenvolvimento(), **ambiente},
    )  # fmt: skip
    assert execucao.returncode == 0, execucao.stderr
    return execucao.stdout.splitlines()


def test_smtp_is_configured_from_the_environment():
    ambiente = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "smtp.exemplo.com.br",
        "EMAIL_PORT": "587", "EMAIL_HOST_USER": "fiscal@exemplo.com.br", "EMAIL_HOST_PASSWORD": "s3nha",
        "EMAIL_USE_TLS": "true", "EMAIL_TIMEOUT": "4.5",
    }  # fmt: skip
    assert _valores(ambiente, "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
                    "EMAIL_USE_SSL", "EMAIL_TIMEOUT") == [  # fmt: skip
        "'smtp.exemplo.com.br'", "587", "'fiscal@exemplo.com.br'", "'s3nha'", "True", "False", "4.5",
    ]


def test_without_environment_smtp_has_djangos_defaults_and_a_timeout():
    nomes = ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT")
    assert _valores({}, *nomes) == ["'localhost'", "25", "''", "False", "False", "10.0"]


def test_the_smtp_backend_really_gives_up_after_email_timeout(settings):
    """A server that accepts the connection and never speaks: the send fails after EMAIL_TIMEOUT, not never."""
    import socket
    import time

    from django.core import mail

    with socket.socket() as mudo:
        mudo.bind(("127.0.0.1", 0))
        mudo.listen()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mudo.getsockname()[1]
        settings.EMAIL_TIMEOUT = 0.5
        inicio = time.monotonic()
        with pytest.raises(OSError):
            mail.send_mail("assunto", "corpo", "de@exemplo.com.br", ["para@exemplo.com.br"])
    assert time.monotonic() - inicio < 5


@pytest.mark.parametrize(
    ("ambiente", "mensagem"),
    [
        ({"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "EMAIL_USE_TLS"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT"),
    ],
)
def test_a_bad_email_setting_stops_the_start(ambiente, mensagem):
    execucao = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=RAIZ,
        env={**desenvolvimento(), **ambiente}, capture_output=True, text=True,
    )  # fmt: skip
    assert execucao.returncode != 0
    assert mensagem in execucao.stderr


def test_static_root_comes_from_the_environment(tmp_path):
    pasta = str(tmp_path / "estaticos")
    assert _valores({"STATIC_ROOT": pasta}, "str(s.STATIC_ROOT)") == [repr(pasta)]
