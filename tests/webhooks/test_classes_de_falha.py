"""Every failed attempt records why it failed (issue 14, point 3), and only a 410 disables at once.

Real receivers on 127.0.0.1 (plain HTTP and HTTPS with a bad certificate); only the resolver is
stubbed, for the name that resolves to a private address at delivery time.
"""

import datetime as dt
import socket
import ssl

import pytest

from core.eventos.emissao import disparar_webhook
from core.models import ClasseDeFalha, Webhook, WebhookLog
from core.tenancy import escopo, inserir
from core.webhooks.assinatura import gerar_segredo
from core.webhooks.entrega import entregar_pendentes
from tests.webhooks.receptor import Receptor, porta_livre

Status = WebhookLog.Status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _config(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"
    settings.WEBHOOK_LEASE_SECONDS = 60


def criar_webhook(org, url, **campos):
    webhook = Webhook(organizacao=org, nome="ERP", url=url, segredo=gerar_segredo(), **campos)
    return inserir(Webhook, org, [webhook])[0]


def tentar_uma_vez(org, url, **campos):
    """Queue one event for a new webhook at `url`, attempt it once; return (webhook, attempts)."""
    webhook = criar_webhook(org, url, **campos)
    disparar_webhook("teste", {}, org)
    assert entregar_pendentes() == 1
    webhook.refresh_from_db()
    return webhook, list(escopo(WebhookLog, org).order_by("id"))


def assert_retried(webhook, tentativas, classe):
    primeira, proxima = tentativas
    assert (primeira.status, primeira.classe_falha) == (Status.FALHA, classe)
    assert (proxima.status, proxima.tentativa, proxima.classe_falha) == (Status.PENDENTE, 2, "")
    assert webhook.ativo and webhook.falhas_consecutivas == 1


def receptor_que_responde(status):
    return Receptor([(status, {})])


def test_a_success_records_no_class(org):
    receptor = receptor_que_responde(200)
    try:
        _webhook, [tentativa] = tentar_uma_vez(org, receptor.url)
    finally:
        receptor.fechar()

    assert (tentativa.status, tentativa.classe_falha) == (Status.SUCESSO, "")


def test_a_500_is_an_http_failure_with_its_code_and_is_retried(org):
    receptor = receptor_que_responde(500)
    try:
        webhook, tentativas = tentar_uma_vez(org, receptor.url)
    finally:
        receptor.fechar()

    assert_retried(webhook, tentativas, ClasseDeFalha.HTTP)
    assert (tentativas[0].codigo_http, tentativas[0].erro) == (500, "HTTP 500")


def test_a_401_wrong_secret_is_an_http_failure_retried_not_disabled(org):
    receptor = receptor_que_responde(401)
    try:
        webhook, tentativas = tentar_uma_vez(org, receptor.url)
    finally:
        receptor.fechar()

    assert_retried(webhook, tentativas, ClasseDeFalha.HTTP)
    assert tentativas[0].codigo_http == 401


def test_a_410_disables_at_once_and_is_recorded_as_http(org):
    receptor = receptor_que_responde(410)
    try:
        webhook, [tentativa] = tentar_uma_vez(org, receptor.url)
    finally:
        receptor.fechar()

    assert (tentativa.status, tentativa.classe_falha, tentativa.codigo_http) == (Status.DESISTIU, ClasseDeFalha.HTTP, 410)
    assert not webhook.ativo and "410" in webhook.motivo_desativacao


def test_a_receiver_that_does_not_answer_in_time_is_tempo_esgotado(org):
    receptor = Receptor(demora=3)
    try:
        webhook, tentativas = tentar_uma_vez(org, receptor.url, timeout=1)
    finally:
        receptor.fechar()

    assert_retried(webhook, tentativas, ClasseDeFalha.TEMPO_ESGOTADO)
    assert tentativas[0].codigo_http is None and "não respondeu em 1 s" in tentativas[0].erro


def test_a_refused_connection_is_rede(org):
    webhook, tentativas = tentar_uma_vez(org, f"http://127.0.0.1:{porta_livre()}/hook")

    assert_retried(webhook, tentativas, ClasseDeFalha.REDE)
    assert "conectar" in tentativas[0].erro


# --- TLS ------------------------------------------------------------------------------------------


def _certificado(diretorio, *, vencido=False, autoassinado=False):
    """A certificate for 127.0.0.1, signed by a throwaway CA (or by itself); returns (CA file, context)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    agora = dt.datetime.now(dt.UTC)
    chave_ca, chave = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def nome(texto):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, texto)])

    ca = (
        x509.CertificateBuilder().subject_name(nome("CA de teste")).issuer_name(nome("CA de teste"))
        .public_key(chave_ca.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(agora - dt.timedelta(days=30)).not_valid_after(agora + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(chave_ca, hashes.SHA256())
    )  # fmt: skip
    fim = agora - dt.timedelta(days=1) if vencido else agora + dt.timedelta(days=1)
    emissor, chave_emissora = (nome("127.0.0.1"), chave) if autoassinado else (ca.subject, chave_ca)
    servidor = (
        x509.CertificateBuilder().subject_name(nome("127.0.0.1")).issuer_name(emissor)
        .public_key(chave.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(agora - dt.timedelta(days=10)).not_valid_after(fim)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(chave_emissora, hashes.SHA256())
    )  # fmt: skip
    arquivos = {nome: diretorio / f"{nome}.pem" for nome in ("ca", "cert", "chave")}
    arquivos["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    arquivos["cert"].write_bytes(servidor.public_bytes(serialization.Encoding.PEM))
    arquivos["chave"].write_bytes(
        chave.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    contexto = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    contexto.load_cert_chain(arquivos["cert"], arquivos["chave"])
    return str(arquivos["ca"]), contexto


@pytest.mark.parametrize(
    "certificado,motivo",
    [({"vencido": True}, "certificate has expired"), ({"autoassinado": True}, "self-signed certificate")],
    ids=["vencido", "autoassinado"],
)
def test_a_bad_receiver_certificate_is_tls_and_is_retried(org, settings, tmp_path, certificado, motivo):
    settings.WEBHOOK_CA_BUNDLE, contexto = _certificado(tmp_path, **certificado)
    receptor = Receptor(contexto_tls=contexto)
    try:
        webhook, tentativas = tentar_uma_vez(org, receptor.url)
    finally:
        receptor.fechar()

    assert_retried(webhook, tentativas, ClasseDeFalha.TLS)
    assert "falha TLS" in tentativas[0].erro and motivo in tentativas[0].erro
    assert receptor.recebidos == []


def test_a_good_certificate_on_the_same_server_delivers(org, settings, tmp_path):
    settings.WEBHOOK_CA_BUNDLE, contexto = _certificado(tmp_path)
    receptor = Receptor(contexto_tls=contexto)
    try:
        _webhook, [tentativa] = tentar_uma_vez(org, receptor.url)
    finally:
        receptor.fechar()

    assert (tentativa.status, tentativa.classe_falha) == (Status.SUCESSO, "")


# --- Refused by the SSRF rules at delivery --------------------------------------------------------


@pytest.fixture
def resolvedor(monkeypatch):
    from tests.webhooks.test_rede import ResolvedorFalso

    falso = ResolvedorFalso()
    monkeypatch.setattr(socket, "getaddrinfo", falso)
    return falso


def test_a_name_that_now_resolves_to_a_private_address_is_recusada(org, settings, resolvedor):
    settings.DEBUG, settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False, False
    resolvedor.nomes["erp.exemplo.com.br"] = ["10.1.2.3"]  # public when it was registered, not any more

    webhook, tentativas = tentar_uma_vez(org, "https://erp.exemplo.com.br/hook")

    assert_retried(webhook, tentativas, ClasseDeFalha.RECUSADA)
    assert "10.1.2.3" in tentativas[0].erro and "privado" in tentativas[0].erro


def test_a_name_that_does_not_resolve_is_rede(org, resolvedor):
    resolvedor.falhar.add("sumiu.exemplo.com.br")

    webhook, tentativas = tentar_uma_vez(org, "http://sumiu.exemplo.com.br/hook")

    assert_retried(webhook, tentativas, ClasseDeFalha.REDE)
    assert "não resolve" in tentativas[0].erro
