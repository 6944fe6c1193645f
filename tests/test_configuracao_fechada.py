"""Outside DEBUG the process refuses to start without its own keys (issue 14, point 5: fail closed).

Each case is a fresh process with only the variables it names, the way a production machine starts:
`manage.py check --deploy` (what an operator runs), and gunicorn on the WSGI module (which runs no
system checks, so the settings themselves refuse).
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_implantacao import Gunicorn, ambiente_de_producao
from tests.test_settings import todas_as_variaveis

RAIZ = Path(__file__).resolve().parent.parent


def check_deploy(ambiente: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=RAIZ, env=ambiente,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def producao_sem(*nomes: str, pasta: Path) -> dict:
    return {k: v for k, v in ambiente_de_producao(pasta).items() if k not in nomes}


def placeholder_do_env_example(nome: str) -> str:
    texto = (RAIZ / ".env.example").read_text(encoding="utf-8")
    return re.search(rf"^{nome}=(.*)$", texto, re.M).group(1)


@pytest.mark.parametrize("debug", [{"DEBUG": "false"}, {}], ids=["DEBUG=false", "DEBUG ausente"])
def test_without_its_keys_it_refuses_to_start(debug, tmp_path):
    ambiente = {**producao_sem("DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", pasta=tmp_path), **debug}

    execucao = check_deploy(ambiente)

    assert execucao.returncode != 0
    assert "SECRET_KEY" in execucao.stderr and "FIELD_ENCRYPTION_KEY" in execucao.stderr
    assert "DEBUG=true" in execucao.stderr  # says how to run in development instead


def test_its_own_secret_key_is_not_enough_without_the_encryption_key(tmp_path):
    execucao = check_deploy(producao_sem("FIELD_ENCRYPTION_KEY", pasta=tmp_path))

    assert execucao.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in execucao.stderr and "Fernet.generate_key" in execucao.stderr


@pytest.mark.parametrize("chave", ["dev-only-insecure-key-change-me", placeholder_do_env_example("SECRET_KEY")])
def test_a_public_secret_key_is_refused(chave, tmp_path):
    execucao = check_deploy({**ambiente_de_producao(tmp_path), "SECRET_KEY": chave})

    assert execucao.returncode != 0
    assert "SECRET_KEY" in execucao.stderr and "pública" in execucao.stderr
    assert chave not in execucao.stderr  # a refused key is never echoed, even a public one


def test_a_malformed_encryption_key_fails_the_system_check(tmp_path):
    execucao = check_deploy({**ambiente_de_producao(tmp_path), "FIELD_ENCRYPTION_KEY": "troque-pela-chave-gerada"})

    assert execucao.returncode != 0
    assert "fiscal.E001" in execucao.stderr and "chave nº 1" in execucao.stderr
    assert "troque-pela-chave-gerada" not in execucao.stderr


def test_with_its_own_keys_check_deploy_is_clean(tmp_path):
    ambiente = {
        **ambiente_de_producao(tmp_path), "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "true", "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true", "SECURE_HSTS_PRELOAD": "true",
        "SESSION_COOKIE_SECURE": "true", "CSRF_COOKIE_SECURE": "true",
    }  # fmt: skip

    execucao = check_deploy(ambiente)

    assert execucao.returncode == 0, execucao.stderr
    assert execucao.stdout.strip() == "System check identified no issues (0 silenced).", execucao.stderr


def test_the_development_keys_are_an_error_in_check_deploy(tmp_path):
    ambiente = {**producao_sem("SECRET_KEY", "FIELD_ENCRYPTION_KEY", pasta=tmp_path), "FISCAL_CHAVE_DE_DESENVOLVIMENTO": "true"}

    execucao = check_deploy(ambiente)

    assert execucao.returncode != 0 and "fiscal.E002" in execucao.stderr


def test_development_needs_no_configuration_at_all():
    limpo = {k: v for k, v in os.environ.items() if k not in todas_as_variaveis()}
    execucao = subprocess.run([sys.executable, "manage.py", "check"], cwd=RAIZ, capture_output=True, text=True,
                              env={**limpo, "DJANGO_SETTINGS_MODULE": "fiscal_app.settings", "DEBUG": "true"})  # fmt: skip

    assert execucao.returncode == 0, execucao.stderr


def test_gunicorn_refuses_to_start_without_the_keys(tmp_path):
    pytest.importorskip("gunicorn")
    ambiente = producao_sem("SECRET_KEY", "FIELD_ENCRYPTION_KEY", pasta=tmp_path)

    processo = subprocess.run(
        [*Gunicorn._executavel(), "-c", "deploy/gunicorn.conf.py", "fiscal_app.wsgi"], cwd=RAIZ,
        env={**ambiente, "GUNICORN_BIND": "127.0.0.1:0", "GUNICORN_WORKERS": "1"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert processo.returncode != 0
    assert "SECRET_KEY" in processo.stderr and "FIELD_ENCRYPTION_KEY" in processo.stderr
