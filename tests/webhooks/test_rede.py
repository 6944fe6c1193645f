"""The webhook HTTP client: SSRF guard, no redirects, timeouts, bounded reads, DNS pinning.

Real HTTP(S) servers on 127.0.0.1 stand in for receivers; only the resolver is patched, so no test
touches the network.
"""

import datetime as dt
import email.utils
import http.server
import ipaddress
import logging
import socket
import ssl
import threading
import time

import pytest

from core.models import ClasseDeFalha
from core.webhooks.rede import (
    LIMITE_TRECHO,
    USER_AGENT,
    FalhaDeEnvio,
    Resposta,
    URLRecusada,
    enviar,
    url_segura,
    validar_url,
)

_getaddrinfo_real = socket.getaddrinfo


class ResolvedorFalso:
    """Answers for the names in `nomes` (a list of IPs, or a list of answers consumed one per call);
    IP literals (urllib3's own lookup when it connects) go to the real resolver. Records every host."""

    def __init__(self):
        self.nomes = {}
        self.chamadas = []
        self.falhar = set()

    def __call__(self, host, porta, *args, **kwargs):
        self.chamadas.append(host)
        if host in self.falhar:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host not in self.nomes:
            return _getaddrinfo_real(host, porta, *args, **kwargs)
        respostas = self.nomes[host]
        ips = respostas.pop(0) if isinstance(respostas[0], list) else respostas
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, porta or 0))
            for ip in ips
        ]


@pytest.fixture
def resolvedor(monkeypatch):
    falso = ResolvedorFalso()
    monkeypatch.setattr(socket, "getaddrinfo", falso)
    return falso


@pytest.fixture
def producao(settings):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False


@pytest.fixture
def redes_privadas(settings):
    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


# --- Receivers ------------------------------------------------------------------------------------


class Receptor(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        corpo = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.recebidos.append({"caminho": self.path, "cabecalhos": dict(self.headers), "corpo": corpo})
        rota = getattr(self, "rota_" + self.path.split("?")[0].strip("/"), None)
        try:
            (rota or self.rota_ok)()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, on purpose

    def responder(self, status, corpo=b"", **cabecalhos):
        self.send_response(status)
        for nome, valor in cabecalhos.items():
            self.send_header(nome.replace("_", "-"), valor)
        self.send_header("Content-Length", str(len(corpo)))
        self.end_headers()
        self.wfile.write(corpo)

    def rota_ok(self):
        self.responder(200, b'{"recebido": true}', Content_Type="application/json", X_Teste="sim")

    def rota_erro(self):
        self.responder(500, b"falhou")

    def rota_redirecionar(self):
        self.responder(302, Location=self.server.destino_redirect)

    def rota_limite(self):
        self.responder(429, Retry_After="7")

    def rota_indisponivel(self):
        quando = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
        self.responder(503, Retry_After=email.utils.format_datetime(quando, usegmt=True))

    def rota_lento(self):
        time.sleep(1.5)
        self.responder(200, b"tarde demais")

    def rota_grande(self):
        self.responder(200, b"a" * (1024 * 1024))

    def rota_acentos(self):
        self.responder(200, "ç".encode() * 3000)

    def log_message(self, *args):
        pass


class Servidor(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping must not hold the test's teardown

    def __init__(self, contexto_tls=None):
        super().__init__(("127.0.0.1", 0), Receptor)
        self.recebidos = []
        self.destino_redirect = None
        if contexto_tls:
            self.socket = contexto_tls.wrap_socket(self.socket, server_side=True)
        self.porta = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        pass  # TLS handshakes the client rejects on purpose

    def url(self, caminho="/", host="127.0.0.1", esquema="http"):
        return f"{esquema}://{host}:{self.porta}{caminho}"


@pytest.fixture
def servidores():
    criados = []

    def criar(**kwargs):
        criados.append(Servidor(**kwargs))
        return criados[-1]

    yield criar
    for servidor in criados:
        servidor.shutdown()
        servidor.server_close()


@pytest.fixture
def servidor(servidores):
    return servidores()


def _enviar(url, corpo=b'{"evento": "teste"}', cabecalhos=None, timeout=5.0):
    return enviar(url, corpo, cabecalhos or {"Content-Type": "application/json"}, timeout=timeout)


# --- SSRF guard -----------------------------------------------------------------------------------

MATRIZ_SSRF = [
    ("127.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("[::1]", "::1"),
    ("[::ffff:10.0.0.1]", "10.0.0.1"),
    ("[::ffff:127.0.0.1]", "127.0.0.1"),
    ("[2002:a00:1::]", "10.0.0.1"),  # 6to4 embedding 10.0.0.1
    ("[2002:a9fe:a9fe::]", "169.254.169.254"),  # 6to4 embedding the metadata address
    ("[64:ff9b::a00:1]", "10.0.0.1"),  # NAT64 embedding 10.0.0.1
    ("[64:ff9b::7f00:1]", "127.0.0.1"),
    ("169.254.169.254", "169.254.169.254"),
    ("10.0.0.1", "10.0.0.1"),
    ("172.16.5.4", "172.16.5.4"),
    ("192.168.0.10", "192.168.0.10"),
    ("100.64.0.1", "100.64.0.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("224.0.0.1", "224.0.0.1"),
    ("[ff02::1]", "ff02::1"),
    ("[fe80::1]", "fe80::1"),
    ("[fc00::1]", "fc00::1"),
    ("255.255.255.255", "255.255.255.255"),
    ("interno.exemplo.com.br", "10.1.2.3"),
    ("metade.exemplo.com.br", "192.168.1.1"),  # one public address is not enough: all must be
]


@pytest.mark.parametrize("host,ip", MATRIZ_SSRF)
def test_it_refuses_every_non_public_target_and_names_the_ip(producao, resolvedor, host, ip):
    resolvedor.nomes["interno.exemplo.com.br"] = ["10.1.2.3"]
    resolvedor.nomes["metade.exemplo.com.br"] = ["8.8.8.8", "192.168.1.1"]

    with pytest.raises(URLRecusada) as erro:
        validar_url(f"https://{host}/webhook")

    assert ip in str(erro.value)
    assert str(erro.value).startswith("URL recusada:")


def test_it_refuses_localhost_through_the_real_resolver(producao):
    with pytest.raises(URLRecusada, match=r"localhost resolve para (127\.0\.0\.1|::1), endereço de loopback"):
        validar_url("https://localhost:8443/")


def test_it_names_the_kind_of_address(producao):
    casos = {
        "https://169.254.169.254/": "metadados",
        "https://100.64.0.1/": "CGNAT",
        "https://[fe80::1]/": "link-local",
        "https://224.0.0.1/": "multicast",
        "https://10.0.0.1/": "privado",
        "https://127.0.0.1/": "loopback",
    }
    for url, tipo in casos.items():
        with pytest.raises(URLRecusada, match=tipo):
            validar_url(url)


def test_it_accepts_public_addresses_without_touching_the_network(producao, resolvedor):
    resolvedor.nomes["erp.cliente.com.br"] = ["8.8.8.8", "2606:4700:4700::1111"]

    ips = validar_url("https://erp.cliente.com.br/webhooks/fiscal?token=abc")

    assert ips == [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("2606:4700:4700::1111")]
    assert validar_url("https://8.8.4.4:8443/") == [ipaddress.ip_address("8.8.4.4")]
    assert validar_url("https://[64:ff9b::808:808]/") == [ipaddress.ip_address("64:ff9b::808:808")]


@pytest.mark.parametrize(
    "url,trecho",
    [
        ("ftp://erp.cliente.com.br/", "esquema deve ser http ou https"),
        ("file:///etc/passwd", "esquema deve ser http ou https"),
        ("erp.cliente.com.br/webhook", "esquema deve ser http ou https"),
        ("https://usuario:senha@erp.cliente.com.br/", "credenciais na URL"),
        ("https://erp.cliente.com.br:99999/", "porta inválida"),
        ("https://erp.cliente.com.br:0/", "porta inválida"),
        ("https://erp.cliente.com.br:abc/", "porta inválida"),
        ("https:///webhook", "falta o host"),
        ("http://erp.cliente.com.br/", "HTTPS é obrigatório"),
    ],
)
def test_it_refuses_malformed_urls(producao, resolvedor, url, trecho):
    resolvedor.nomes["erp.cliente.com.br"] = ["8.8.8.8"]

    with pytest.raises(URLRecusada, match=trecho):
        validar_url(url)


def test_it_says_when_the_host_does_not_resolve(producao, resolvedor):
    resolvedor.falhar.add("sumiu.exemplo.com.br")

    with pytest.raises(URLRecusada, match="sumiu.exemplo.com.br não resolve"):
        validar_url("https://sumiu.exemplo.com.br/")


def test_it_allows_http_in_debug_and_with_private_networks(settings, resolvedor):
    resolvedor.nomes["erp.cliente.com.br"] = ["8.8.8.8"]
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    settings.DEBUG = True
    assert validar_url("http://erp.cliente.com.br/")

    settings.DEBUG = False
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    assert validar_url("http://127.0.0.1:8000/") == [ipaddress.ip_address("127.0.0.1")]


def test_its_keyword_arguments_override_the_settings(producao):
    assert validar_url("http://10.0.0.1/", permitir_redes_privadas=True, exigir_https=False)
    with pytest.raises(URLRecusada, match="HTTPS é obrigatório"):
        validar_url("http://10.0.0.1/", permitir_redes_privadas=True, exigir_https=True)


def test_enviar_refuses_before_connecting(producao, resolvedor):
    resolvedor.nomes["interno.exemplo.com.br"] = ["10.1.2.3"]

    with pytest.raises(URLRecusada, match="10.1.2.3"):
        _enviar("https://interno.exemplo.com.br/")

    assert resolvedor.chamadas == ["interno.exemplo.com.br"]  # no connection attempt followed


# --- Sending to a real local receiver -------------------------------------------------------------


def test_it_posts_and_returns_status_excerpt_and_headers(redes_privadas, servidor):
    resposta = _enviar(
        servidor.url("/ok?token=segredo"),
        cabecalhos={"Content-Type": "application/json", "webhook-id": "evt_1", "User-Agent": "outro", "Host": "x"},
    )

    assert isinstance(resposta, Resposta)
    assert resposta.status == 200
    assert resposta.trecho == '{"recebido": true}'
    assert resposta.cabecalhos["x-teste"] == "sim"
    assert resposta.cabecalhos["content-type"] == "application/json"
    assert resposta.retry_after_segundos is None
    assert 0 <= resposta.duracao_ms < 5000
    [recebido] = servidor.recebidos
    assert recebido["caminho"] == "/ok?token=segredo"
    assert recebido["corpo"] == b'{"evento": "teste"}'
    assert recebido["cabecalhos"]["webhook-id"] == "evt_1"
    assert recebido["cabecalhos"]["User-Agent"] == USER_AGENT  # fixed: the caller cannot change it
    assert recebido["cabecalhos"]["Host"] == f"127.0.0.1:{servidor.porta}"


def test_it_returns_a_500_as_a_response(redes_privadas, servidor):
    resposta = _enviar(servidor.url("/erro"))

    assert (resposta.status, resposta.trecho) == (500, "falhou")


def test_it_never_follows_a_redirect(redes_privadas, servidores):
    origem, destino = servidores(), servidores()
    origem.destino_redirect = destino.url("/interno")

    resposta = _enviar(origem.url("/redirecionar"))

    assert resposta.status == 302
    assert resposta.cabecalhos["location"] == destino.url("/interno")
    assert destino.recebidos == []


def test_it_parses_retry_after_in_seconds_and_as_a_date(redes_privadas, servidor):
    assert _enviar(servidor.url("/limite")).retry_after_segundos == 7

    resposta = _enviar(servidor.url("/indisponivel"))

    assert resposta.status == 503
    assert 110 <= resposta.retry_after_segundos <= 121


def test_a_slow_receiver_is_tempo_esgotado(redes_privadas, servidor):
    inicio = time.monotonic()

    with pytest.raises(FalhaDeEnvio) as falha:
        _enviar(servidor.url("/lento"), timeout=0.3)

    assert falha.value.classe == ClasseDeFalha.TEMPO_ESGOTADO
    assert "não respondeu em 0.3 s" in falha.value.motivo
    assert time.monotonic() - inicio < 1.4


def test_a_refused_connection_is_a_network_failure(redes_privadas):
    with socket.socket() as livre:
        livre.bind(("127.0.0.1", 0))
        porta = livre.getsockname()[1]  # closed when the block ends: nobody listens there

    with pytest.raises(FalhaDeEnvio) as falha:
        _enviar(f"http://127.0.0.1:{porta}/")

    assert falha.value.classe == ClasseDeFalha.REDE
    assert f"127.0.0.1:{porta}" in falha.value.motivo


def test_a_dns_failure_at_send_time_is_a_network_failure(redes_privadas, resolvedor):
    resolvedor.falhar.add("erp.cliente.com.br")

    with pytest.raises(FalhaDeEnvio) as falha:
        _enviar("http://erp.cliente.com.br/")

    assert falha.value.classe == ClasseDeFalha.REDE
    assert "não resolve" in falha.value.motivo


def test_a_huge_body_is_cut_to_the_excerpt(redes_privadas, servidor):
    resposta = _enviar(servidor.url("/grande"))

    assert resposta.status == 200
    assert resposta.trecho == "a" * LIMITE_TRECHO


def test_the_excerpt_never_splits_a_character(redes_privadas, servidor):
    resposta = _enviar(servidor.url("/acentos"))

    assert resposta.trecho == "ç" * (LIMITE_TRECHO // 2)


def test_it_connects_to_the_checked_ip_and_keeps_the_host_header(redes_privadas, servidor, resolvedor):
    # A rebinding DNS answers 127.0.0.1 once, then an address where nothing listens.
    resolvedor.nomes["receptor.exemplo.com.br"] = [["127.0.0.1"], ["10.255.255.1"], ["10.255.255.1"]]

    resposta = _enviar(servidor.url("/ok", host="receptor.exemplo.com.br"))

    assert resposta.status == 200
    assert servidor.recebidos[0]["cabecalhos"]["Host"] == f"receptor.exemplo.com.br:{servidor.porta}"
    assert resolvedor.chamadas.count("receptor.exemplo.com.br") == 1


def test_dns_rebinding_cannot_redirect_the_connection(producao, resolvedor):
    # Validation sees a public address; a second lookup would say 127.0.0.1. The connection must go to
    # the checked address (refused here, so the test needs no network) without asking DNS again.
    resolvedor.nomes["rebind.exemplo.com.br"] = [["8.8.8.8"], ["127.0.0.1"]]
    resolvedor.falhar.add("8.8.8.8")  # urllib3's lookup of the literal it connects to

    with pytest.raises(FalhaDeEnvio) as falha:
        _enviar("https://rebind.exemplo.com.br/webhook")

    assert falha.value.classe == ClasseDeFalha.REDE
    assert resolvedor.chamadas == ["rebind.exemplo.com.br", "8.8.8.8"]


def test_logs_carry_neither_header_values_nor_the_query_string(redes_privadas, servidor, caplog):
    caplog.set_level(logging.DEBUG, logger="core.webhooks.rede")

    _enviar(servidor.url("/ok?token=segredo-da-url"), cabecalhos={"webhook-signature": "v1,assinatura-secreta"})
    with pytest.raises(FalhaDeEnvio):
        _enviar(servidor.url("/lento?token=segredo-da-url"), timeout=0.2)

    assert f"http://127.0.0.1:{servidor.porta}/ok" in caplog.text
    assert "segredo-da-url" not in caplog.text
    assert "assinatura-secreta" not in caplog.text


def test_url_segura_keeps_only_scheme_host_port_and_path():
    assert url_segura("https://u:p@erp.com.br:8443/a/b?token=x#frag") == "https://erp.com.br:8443/a/b"
    assert url_segura("http://[::1]/x?y=1") == "http://[::1]/x"


# --- HTTPS ----------------------------------------------------------------------------------------


def _certificados(diretorio, nome):
    """A throwaway CA and a server certificate for `nome`, signed by it; returns the file paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    agora = dt.datetime.now(dt.UTC)

    def certificado(sujeito, emissor, chave_publica, chave_emissora, *, ca, extensoes=()):
        construtor = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sujeito)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, emissor)]))
            .public_key(chave_publica)
            .serial_number(x509.random_serial_number())
            .not_valid_before(agora - dt.timedelta(minutes=5))
            .not_valid_after(agora + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        for extensao in extensoes:
            construtor = construtor.add_extension(extensao, critical=False)
        return construtor.sign(chave_emissora, hashes.SHA256())

    chave_ca, chave_servidor = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificado("CA de teste", "CA de teste", chave_ca.public_key(), chave_ca, ca=True)
    servidor = certificado(
        nome, "CA de teste", chave_servidor.public_key(), chave_ca, ca=False,
        extensoes=[x509.SubjectAlternativeName([x509.DNSName(nome)])],
    )
    arquivos = {"ca": diretorio / "ca.pem", "cert": diretorio / "servidor.pem", "chave": diretorio / "chave.pem"}
    arquivos["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    arquivos["cert"].write_bytes(servidor.public_bytes(serialization.Encoding.PEM))
    arquivos["chave"].write_bytes(
        chave_servidor.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return arquivos


@pytest.fixture
def https(redes_privadas, settings, servidores, resolvedor, tmp_path, monkeypatch):
    """An HTTPS receiver for `webhook.exemplo.com.br` on 127.0.0.1, its CA trusted via the setting."""

    def criar(nome_no_certificado="webhook.exemplo.com.br"):
        arquivos = _certificados(tmp_path, nome_no_certificado)
        contexto = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        contexto.load_cert_chain(arquivos["cert"], arquivos["chave"])
        nomes_sni = []
        contexto.sni_callback = lambda sock, nome, ctx: nomes_sni.append(nome)
        servidor = servidores(contexto_tls=contexto)
        servidor.nomes_sni = nomes_sni
        settings.WEBHOOK_CA_BUNDLE = str(arquivos["ca"])
        resolvedor.nomes["webhook.exemplo.com.br"] = ["127.0.0.1"]
        return servidor

    # requests (trust_env) lets REQUESTS_CA_BUNDLE and proxy variables override Session.verify:
    # the environment must change nothing.
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    return criar


def test_https_verifies_the_certificate_against_the_hostname_and_sends_sni(https):
    servidor = https()

    resposta = _enviar(servidor.url("/ok", host="webhook.exemplo.com.br", esquema="https"))

    assert resposta.status == 200
    assert servidor.nomes_sni == ["webhook.exemplo.com.br"]
    assert servidor.recebidos[0]["cabecalhos"]["Host"] == f"webhook.exemplo.com.br:{servidor.porta}"


def test_https_refuses_a_certificate_for_another_name(https):
    servidor = https(nome_no_certificado="outro.exemplo.com.br")

    with pytest.raises(FalhaDeEnvio) as falha:
        _enviar(servidor.url("/ok", host="webhook.exemplo.com.br", esquema="https"))

    assert falha.value.classe == ClasseDeFalha.TLS
    assert "falha TLS" in falha.value.motivo
    assert servidor.recebidos == []


def test_a_malformed_custom_header_is_refused_before_sending_and_is_not_echoed(redes_privadas, servidor):
    with pytest.raises(FalhaDeEnvio) as falha:
        _enviar(servidor.url("/ok"), cabecalhos={"X-Cliente": "valor\r\nX-Injetado: segredo"})

    assert falha.value.classe == ClasseDeFalha.RECUSADA
    assert "segredo" not in falha.value.motivo
    assert servidor.recebidos == []
