"""The middleware settings fail loudly at start-up when they make no sense."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parents[2]


def iniciar(**ambiente) -> subprocess.CompletedProcess:
    codigo = "import django; django.setup(); from django.conf import settings as s; print(s.FISCAL_PROXIES_CONFIAVEIS)"
    return subprocess.run(
        [sys.executable, "-c", codigo], cwd=RAIZ, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "fiscal_app.settings", **ambiente},
    )  # fmt: skip


def test_trusted_proxies_are_a_comma_separated_list_of_ips_and_networks():
    execucao = iniciar(FISCAL_PROXIES_CONFIAVEIS="10.0.0.0/8, 192.168.1.1,2001:db8::/32")

    assert execucao.returncode == 0, execucao.stderr
    assert execucao.stdout.strip() == "['10.0.0.0/8', '192.168.1.1', '2001:db8::/32']"


@pytest.mark.parametrize(
    "variavel, valor, mensagem",
    [
        ("FISCAL_PROXIES_CONFIAVEIS", "10.0.0.0/8,balanceador", "'balanceador' is not an IP or CIDR"),
        ("RATE_LIMIT_PER_MINUTE", "0", "RATE_LIMIT_PER_MINUTE must be 1 or more"),
        ("RATE_LIMIT_CACHE", "outro", "RATE_LIMIT_CACHE='outro' is not a cache alias"),
        ("APIREQUESTLOG_LOTE", "0", "APIREQUESTLOG_LOTE must be 1 or more"),
    ],
)
def test_a_bad_value_stops_the_start(variavel, valor, mensagem):
    execucao = iniciar(**{variavel: valor})

    assert execucao.returncode != 0
    assert mensagem in execucao.stderr
