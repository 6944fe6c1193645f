"""Several machines at once, for real (README, "Várias máquinas"): nothing is done twice.

Two web servers (`gunicorn -c deploy/gunicorn.conf.py`, two workers each), two `webhook_worker --loop`
and two `run_scheduled_tasks` started together for several rounds, as cron on two machines would, all on
the test database (PostgreSQL) and one Redis. Documents are uploaded through both servers (one document
through both at the same moment), each server creates a webhook pointing at its own loopback receiver,
and the cron rounds announce an expiring certificate, NF-e near their manifestation deadline and
yesterday's summary, and capture the NF-e waiting at SEFAZ (the project's simulator, over mutual TLS)
for the organization's certificate. Then: every event reached each receiver exactly once, every e-mail
was written once, no document was stored twice, SEFAZ was asked once from NSU 0 and never refused, each
task ran in every round without failing and did its work once (two machines may run a task one after
the other; its lock only keeps two runs from overlapping, which tests/tarefas/test_trava.py shows), a
login on one server is valid on the other, and one rate limit counts the requests of both servers.

The first server delivers right after the commit (WEBHOOK_ENTREGA_IMEDIATA, the default); the second
has it off, so its events go out only through the workers and the cron, competing for the same rows.
PostgreSQL and Redis only: the processes cannot see the in-memory SQLite test database.
"""

import email
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime, timedelta
from datetime import time as hora
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import caches
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.geracao.certificado import gerar_certificado
from core.geracao.documentos import gerar_nfe
from core.limite.contadores import JANELA_SEGUNDOS, chave_do_contador
from core.models import (
    ConsultaSEFAZ,
    EnvioEmail,
    Evento,
    ExecucaoDeTarefa,
    ImportLog,
    NFe,
    RelatorioEnviado,
    WebhookLog,
)
from core.organizacoes import criar_organizacao
from core.sefaz.simulador import Simulador
from core.tarefas import TAREFAS
from core.tenancy import escopo
from tests.middleware.test_varios_processos import esperar_folga_na_janela, url_do_banco_de_teste
from tests.notificacoes.conftest import criar_membro
from tests.test_implantacao import RAIZ, Gunicorn
from tests.webhooks.receptor import Receptor, esperar

NO_POSTGRES_E_REDIS = "postgresql" in settings.DATABASES["default"]["ENGINE"] and "redis" in settings.CACHES[
    settings.RATE_LIMIT_CACHE
]["BACKEND"].lower()
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not NO_POSTGRES_E_REDIS, reason="precisa de PostgreSQL e Redis (DATABASE_URL, CACHE_URL): "
                       "os processos que o teste sobe não enxergam o banco SQLite em memória dos testes, e o "
                       "cache que as máquinas dividem é o Redis (roda no .ci/run)"),
]  # fmt: skip

DESTINATARIO = "61585865000151"  # the organization's own CNPJ: its certificate's
SENHA = "senha-forte-123"  # nova_org's owner (tests/conftest.py)
RODADAS = 3
LIMITE_DA_BETA = 10
SEPARADOR_DE_EMAILS = b"\n" + b"-" * 79 + b"\n"  # Django's file backend, between two messages


def ambiente(pasta: Path, **extras) -> dict:
    """What every process of every "machine" reads: the same database, Redis, e-mail folder and CA."""
    return {
        **os.environ,
        "DATABASE_URL": url_do_banco_de_teste(),
        "CACHE_URL": os.environ["CACHE_URL"],
        "DEBUG": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(pasta / "emails"),
        "FISCAL_CADEIA_CERTIFICADOS_EXTRAS": ",".join(settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "RATE_LIMIT_PER_MINUTE": "1000",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        **extras,
    }


class Comando:
    """`manage.py <argumentos>` in its own process, its output in `<pasta>/<nome>.log`."""

    def __init__(self, env: dict, pasta: Path, nome: str, *argumentos: str):
        self.log = pasta / f"{nome}.log"
        with self.log.open("wb") as saida:
            self.processo = subprocess.Popen([sys.executable, "manage.py", *argumentos], cwd=RAIZ, env=env,
                                             stdout=saida, stderr=subprocess.STDOUT)  # fmt: skip

    def esperar(self, segundos: float = 60) -> int:
        try:
            return self.processo.wait(segundos)
        except subprocess.TimeoutExpired:
            self.processo.kill()
            return self.processo.wait()

    def parar(self) -> int:
        """SIGTERM, as systemd stops the worker: it finishes its batch and exits 0."""
        if self.processo.poll() is None:
            self.processo.send_signal(signal.SIGTERM)
        return self.esperar(20)

    @property
    def saida(self) -> str:
        return self.log.read_text(errors="replace")


def subir_webs(pilha: ExitStack, pasta: Path, ambientes: list[dict]) -> list[Gunicorn]:
    """One gunicorn per environment, started side by side (each takes a few seconds to be ready)."""
    webs = []
    for n, env in enumerate(ambientes):
        (pasta / f"web-{n}").mkdir()
        webs.append(Gunicorn(env, pasta / f"web-{n}"))
        pilha.callback(webs[-1].parar)
    with ThreadPoolExecutor(max_workers=len(webs)) as executor:
        list(executor.map(Gunicorn.iniciar, webs))
    return webs


def sessao(token: str | None = None) -> requests.Session:
    cliente = requests.Session()
    cliente.trust_env = False  # loopback, whatever http_proxy says
    if token:
        cliente.headers["Authorization"] = f"Token {token}"
    return cliente


def enviar(web: Gunicorn, token: str, documentos) -> dict:
    arquivos = [("arquivos", (f"{d.chave}.xml", d.xml, "application/xml")) for d in documentos]
    resposta = sessao(token).post(f"{web.url}/api/importar/", files=arquivos, timeout=60)
    assert resposta.status_code == 200, resposta.text
    return resposta.json()["resumo"]


def criar_webhook(web: Gunicorn, token: str, url: str) -> int:
    resposta = sessao(token).post(f"{web.url}/api/webhooks/", json={"nome": "ERP", "url": url}, timeout=30)
    assert resposta.status_code == 201, resposta.text
    return resposta.json()["id"]


def documentos(emissor) -> dict[str, list]:
    """Plain NF-e, NF-e to the organization 175 days old (5 days to manifest), NF-e issued yesterday."""
    ontem = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=1), hora(12)))
    antigas = timezone.now() - timedelta(days=175)
    return {
        "comuns": [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 9)],
        "a_manifestar": [gerar_nfe(certificado=emissor, numero=n, destinatario_documento=DESTINATARIO,
                                   data_emissao=antigas) for n in range(101, 105)],  # fmt: skip
        "de_ontem": [gerar_nfe(certificado=emissor, numero=n, data_emissao=ontem) for n in (201, 202)],
        "repetida": [gerar_nfe(certificado=emissor, numero=301)],
    }


def envios_pelos_dois(webs, token: str, docs: dict) -> list[dict]:
    """Uploads through both servers at once; the repeated NF-e goes through each at the same moment."""
    c, m, o, r = docs["comuns"], docs["a_manifestar"], docs["de_ontem"], docs["repetida"]
    lotes = [(0, c[:2]), (1, c[2:4]), (0, m[:2]), (1, m[2:]), (0, o[:1]), (1, o[1:]), (0, r), (1, r), (0, c[4:])]
    with ThreadPoolExecutor(max_workers=4) as executor:
        return list(executor.map(lambda lote: enviar(webs[lote[0]], token, lote[1]), lotes))


def rodadas_do_cron(env: dict, pasta: Path) -> list[tuple[datetime, datetime]]:
    """Cron firing on two machines in the same minute, RODADAS times: each round's start and end."""
    rodadas = []
    for rodada in range(RODADAS):
        inicio = timezone.now()
        cron = [Comando(env, pasta, f"cron-{rodada}-{maquina}", "run_scheduled_tasks") for maquina in (0, 1)]
        assert [c.esperar() for c in cron] == [0, 0], [c.saida for c in cron]
        rodadas.append((inicio, timezone.now()))
    return rodadas


def emails_gravados(pasta: Path) -> list[email.message.Message]:
    mensagens = []
    for arquivo in sorted(pasta.glob("*.log")):
        partes = arquivo.read_bytes().split(SEPARADOR_DE_EMAILS)
        mensagens += [email.message_from_bytes(parte) for parte in partes if parte.strip()]
    return mensagens


def tudo_entregue(org, receptores, webhooks: list[int]) -> bool:
    Status = WebhookLog.Status
    if escopo(WebhookLog, org).exclude(status=Status.SUCESSO).exists():
        return False
    if escopo(EnvioEmail, org).filter(status__in=[EnvioEmail.Status.PENDENTE, EnvioEmail.Status.ENVIANDO]).exists():
        return False
    entregues = [escopo(WebhookLog, org).filter(webhook_id=w).count() for w in webhooks]
    return [len(r.recebidos) for r in receptores] == entregues


def beta_com_limite_baixo() -> str:
    """Another customer whose organization allows LIMITE_DA_BETA requests a minute; its token."""
    beta = criar_organizacao(nome="Transportes Beta SA", email="dono@beta.com.br")
    beta.organizacao.limite_requisicoes_por_minuto = LIMITE_DA_BETA
    beta.organizacao.save(update_fields=["limite_requisicoes_por_minuto"])
    fim = (int(time.time() // JANELA_SEGUNDOS) + 1) * JANELA_SEGUNDOS  # nothing left by an earlier run
    caches[settings.RATE_LIMIT_CACHE].delete_many(
        [chave_do_contador(f"u:{beta.usuario.pk}", f) for f in (fim, fim + JANELA_SEGUNDOS)]
    )
    return beta.token


def pedidos_alternados(webs, token: str, quantos: int) -> list[tuple[int, str]]:
    """`quantos` requests one after the other, alternating servers: (status, X-RateLimit-Reset) each."""
    cliente, respostas = sessao(token), []
    for web in itertools.islice(itertools.cycle(webs), quantos):
        resposta = cliente.get(f"{web.url}/api/integracoes/eventos/", timeout=30)
        respostas.append((resposta.status_code, resposta.headers["X-RateLimit-Reset"]))
    return respostas


def entrar_no_admin(web: Gunicorn, usuario: str) -> requests.Session:
    cliente = sessao()
    cliente.get(f"{web.url}/admin/login/", timeout=30)
    resposta = cliente.post(f"{web.url}/admin/login/?next=/admin/", timeout=30, allow_redirects=False, data={
        "username": usuario, "password": SENHA, "csrfmiddlewaretoken": cliente.cookies["csrftoken"]})  # fmt: skip
    assert resposta.status_code == 302 and resposta.headers["Location"] == "/admin/", resposta.text[:500]
    return cliente


def senha_que_os_processos_leem(usuario) -> None:
    """The suite hashes with MD5 (tests/conftest.py); the servers run with Django's default hashers."""
    hasher = PBKDF2PasswordHasher()
    usuario.password = hasher.encode(SENHA, hasher.salt())
    usuario.save(update_fields=["password"])


def no_mesmo_dia(duracao: timedelta) -> None:
    """Start after local midnight if the test would straddle it: the NF-e "of yesterday" and the one daily
    summary per member it checks are counted by the local day the cron processes see."""
    agora = timezone.localtime()
    meia_noite = timezone.make_aware(datetime.combine(agora.date() + timedelta(days=1), hora(0)))
    if meia_noite - agora < duracao:
        time.sleep((meia_noite - agora).total_seconds() + 1)


def test_two_of_each_process_on_one_postgresql_and_redis_do_nothing_twice(nova_org, emissor, tmp_path):
    no_mesmo_dia(timedelta(minutes=3))  # it takes ~40 s here, longer on a loaded CI machine
    # given: an organization with two members, a certificate that expires in 5 days, and a second
    # customer with a low rate limit
    org, token = nova_org.organizacao, nova_org.token
    senha_que_os_processos_leem(nova_org.usuario)
    criar_membro(org, "colega@alfa.com.br", first_name="Carla")
    a1 = gerar_certificado(cnpj=DESTINATARIO, nome="COMERCIAL ALFA LTDA", dias_validade=95)
    cadastrar_certificado(org, a1.pfx(b"senha-do-a1"), "senha-do-a1", uf="35", servicos=["nfe"],
                          consulta_automatica=True)  # fmt: skip
    token_beta = beta_com_limite_baixo()
    docs = documentos(emissor)
    na_sefaz = [gerar_nfe(certificado=emissor, numero=n, destinatario_documento=DESTINATARIO) for n in (401, 402, 403)]

    with ExitStack() as pilha:
        sefaz = pilha.enter_context(Simulador())
        for nota in na_sefaz:
            sefaz.publicar(DESTINATARIO, "nfe", nota.xml)
        env = ambiente(tmp_path, SEFAZ_CA_BUNDLE=sefaz.ca_pem, SEFAZ_NFE_DISTRIBUICAO_URL=sefaz.url_nfe_distribuicao,
                       SEFAZ_CTE_DISTRIBUICAO_URL=sefaz.url_cte_distribuicao, SEFAZ_NFE_EVENTO_URL=sefaz.url_nfe_evento,
                       SEFAZ_PAUSA_ENTRE_PAGINAS="0")  # fmt: skip
        # two machines: a web server each (only the first delivers right after the commit) and a worker each
        workers = [Comando(env, tmp_path, f"worker-{n}", "webhook_worker", "--loop", "--threads", "2",
                           "--intervalo", "0.2") for n in (0, 1)]  # fmt: skip
        for worker in workers:
            pilha.callback(worker.parar)
        webs = subir_webs(pilha, tmp_path, [env, {**env, "WEBHOOK_ENTREGA_IMEDIATA": "false"}])
        receptores = [Receptor(demora=0.02) for _ in (0, 1)]
        for receptor in receptores:
            pilha.callback(receptor.fechar)

        # when: a login on one server, a burst of requests across both
        admin = entrar_no_admin(webs[0], "dona@alfa.com.br")
        no_outro = admin.get(f"{webs[1].url}/admin/", timeout=30, allow_redirects=False)
        esperar_folga_na_janela(5)
        rajada = pedidos_alternados(webs, token_beta, LIMITE_DA_BETA + 6)
        # each server creates a webhook, documents arrive through both, cron fires on both machines
        webhooks = [criar_webhook(web, token, receptor.url) for web, receptor in zip(webs, receptores, strict=True)]
        eventos_de_antes = set(escopo(Evento, org).values_list("id", flat=True))
        resumos = envios_pelos_dois(webs, token, docs)
        rodadas = rodadas_do_cron(env, tmp_path)
        entregue = esperar(lambda: tudo_entregue(org, receptores, webhooks), prazo=30, passo=0.2)
        codigos = [worker.parar() for worker in workers]

    # then: a session started on one server is valid on the other (no sticky sessions needed)
    assert no_outro.status_code == 200 and "Comercial Alfa" in no_outro.text
    # one rate limit for both servers: the first LIMITE_DA_BETA requests pass, half through each, the rest 429
    assert len({reset for _, reset in rajada}) == 1, rajada
    assert [estado for estado, _ in rajada] == [200] * LIMITE_DA_BETA + [429] * 6
    # everything delivered and sent, the workers stopped cleanly (SIGTERM)
    assert entregue and codigos == [0, 0], [w.saida for w in workers]
    # every document once: 15 distinct NF-e in 16 files, the repeated one a duplicate for one of the servers
    assert sum(r["sucesso"] for r in resumos) == 15 and sum(r["duplicado"] for r in resumos) == 1, resumos
    chaves = [d.chave for lista in [*docs.values(), na_sefaz] for d in lista]
    assert sorted(escopo(NFe, org).values_list("chave", flat=True)) == sorted(chaves)
    sucessos = Counter(escopo(ImportLog, org).filter(status=ImportLog.Status.SUCESSO).values_list("chave", flat=True))
    assert sucessos == Counter(chaves)
    # SEFAZ: the cursor of the CNPJ was followed by one machine at a time, from NSU 0 once, never refused
    chamadas = [(c.tipo, c.nsu, c.cstat) for c in sefaz.chamadas]
    assert chamadas == [("distNSU", 0, 138)], chamadas
    consultas = ConsultaSEFAZ.objects.filter(documento=DESTINATARIO)
    assert list(consultas.values_list("nsu_consultado", "cstat", "documentos", "importados")) == [(0, 138, 3, 3)]
    # every event to each receiver exactly once
    eventos = escopo(Evento, org).exclude(id__in=eventos_de_antes)
    tipos = Counter(eventos.values_list("tipo", flat=True))
    # 15 NF-e uploaded and 3 captured, one capture run
    assert tipos == {"nfe_importada": 18, "manifestacao_pendente": 4, "certificado_vencendo": 1,
                     "consulta_concluida": 1}, tipos  # fmt: skip
    for receptor in receptores:
        assert Counter(receptor.ids) == Counter(eventos.values_list("id", flat=True)), Counter(receptor.ids)
        assert receptor.sobreposicoes == []
    # every scheduled task ran in every round (by one machine, or by both one after the other: what it did is
    # counted once above and below), never failed
    for tarefa in TAREFAS:
        execucoes = ExecucaoDeTarefa.objects.filter(tarefa=tarefa)
        assert execucoes.filter(resultado=ExecucaoDeTarefa.Resultado.FALHA).count() == 0, tarefa
        for inicio, fim in rodadas:
            na_rodada = Counter(execucoes.filter(iniciada_em__range=(inicio, fim)).values_list("resultado", flat=True))
            assert sum(na_rodada.values()) == 2 and na_rodada[ExecucaoDeTarefa.Resultado.SUCESSO] >= 1, (tarefa, na_rodada)
    # every e-mail once: one message per row sent, per recipient; one daily summary per member
    enviados = escopo(EnvioEmail, org).filter(status=EnvioEmail.Status.ENVIADO)
    mensagens = emails_gravados(tmp_path / "emails")
    assert Counter(m["To"] for m in mensagens) == Counter(enviados.values_list("usuario__email", flat=True))
    assert enviados.filter(tipo="resumo_diario").count() == 2 == RelatorioEnviado.objects.filter(organizacao=org).count()
    assert enviados.filter(tipo="certificado_vencendo").count() == 2
    assert not escopo(EnvioEmail, org).filter(status=EnvioEmail.Status.FALHOU).exists()

