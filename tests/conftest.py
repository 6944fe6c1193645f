import pytest

from core.organizacoes import criar_organizacao

pytest_plugins = ["tests.fixtures_documentos"]


def pytest_configure(config):
    from django.conf import settings

    # PBKDF2's 1M iterations cost ~0.5 s per user created; tests never need a strong hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests make hundreds of API calls a minute as the same user and IP, and count the queries a request
    # makes (in production the request log is written by a background thread, off the request's
    # connection). tests/middleware/ turns both on with the values it exercises.
    settings.RATE_LIMIT_PER_MINUTE = 1_000_000
    settings.APIREQUESTLOG_ATIVO = False
    # Documents signed in tests come from the test CA (core.geracao.certificado), made in this process:
    # trust it the way an operator trusts an extra CA, so they verify as `valida`. Tests of the
    # untrusted case clear the setting.
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = [str(_pem_da_ac_de_teste())]


def _pem_da_ac_de_teste():
    import tempfile
    from pathlib import Path

    from core.geracao.certificado import pem_autoridade_teste

    arquivo = Path(tempfile.mkdtemp(prefix="fiscal-ac-teste-")) / "ac-teste.pem"
    arquivo.write_bytes(pem_autoridade_teste())
    return arquivo


@pytest.fixture(scope="session", autouse=True)
def _caches_vazios():
    """Start from empty caches: a run against Redis (CACHE_URL in .ci/run) must not find the rate-limit,
    login-throttle or PDF entries a previous run left there under ids this run reuses."""
    from django.core.cache import caches

    for cache in caches.all(initialized_only=False):
        cache.clear()


@pytest.fixture
def receptor():
    """A webhook receiver on loopback (tests/webhooks/receptor.py) answering 200, closed after the test."""
    from tests.webhooks.receptor import Receptor

    r = Receptor()
    yield r
    r.fechar()


@pytest.fixture
def nova_org(db):
    return criar_organizacao(nome="Comercial Alfa Ltda", email="dona@alfa.com.br", senha="senha-forte-123")


@pytest.fixture
def org(nova_org):
    """The organization under test."""
    return nova_org.organizacao


@pytest.fixture
def outra_org(db):
    """Another customer: nothing of `org` may ever show up for it, and vice versa."""
    return criar_organizacao(nome="Transportes Beta SA", email="dono@beta.com.br").organizacao


@pytest.fixture(scope="session")
def emissor():
    """The A1 certificate of an NF-e emitter (CNPJ 11.222.333/0001-81), made once per session."""
    from core.geracao.certificado import gerar_certificado

    return gerar_certificado(cnpj="11222333000181", nome="DISTRIBUIDORA AURORA LTDA")


@pytest.fixture(scope="session")
def transportadora():
    from core.geracao.certificado import gerar_certificado

    return gerar_certificado(cnpj="19131243000197", nome="TRANSPORTES RAPIDO SUL LTDA")


@pytest.fixture
def sim(settings):
    """The local SEFAZ (core/sefaz/simulador) with the client pointed at it over real mutual TLS."""
    from core.sefaz.simulador import Simulador

    with Simulador() as simulador:
        settings.SEFAZ_CA_BUNDLE = simulador.ca_pem
        settings.SEFAZ_NFE_DISTRIBUICAO_URL = simulador.url_nfe_distribuicao
        settings.SEFAZ_CTE_DISTRIBUICAO_URL = simulador.url_cte_distribuicao
        settings.SEFAZ_NFE_EVENTO_URL = simulador.url_nfe_evento
        settings.SEFAZ_PAUSA_ENTRE_PAGINAS = 0
        yield simulador


@pytest.fixture(scope="session")
def a1_destinatario():
    """The A1 certificate of the NF-e recipient the SEFAZ tests capture for (CNPJ 61.585.865/0001-51)."""
    from core.geracao.certificado import gerar_certificado

    return gerar_certificado(cnpj="61585865000151", nome="COMERCIAL EXEMPLO SA")
