"""importar_certificado and recifrar_segredos."""

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from core.certificados import a1_do_certificado, cadastrar_certificado
from core.cripto import cifrar
from core.models import CertificadoDigital, Webhook
from core.tenancy import escopo, inserir
from tests.certificados.conftest import SENHA

pytestmark = pytest.mark.django_db


@pytest.fixture
def arquivo_pfx(tmp_path, e_cnpj):
    caminho = tmp_path / "aurora.pfx"
    caminho.write_bytes(e_cnpj.pfx)
    return caminho


@pytest.fixture(autouse=True)
def sem_senha_no_ambiente(monkeypatch):
    monkeypatch.delenv("FISCAL_SENHA_CERTIFICADO", raising=False)


def importar(*argumentos) -> str:
    saida = io.StringIO()
    call_command("importar_certificado", *map(str, argumentos), stdout=saida)
    return saida.getvalue()


# --- importar_certificado ------------------------------------------------------------------------


def test_it_registers_and_prints_the_metadata_with_the_id_last(org, arquivo_pfx, caplog, settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True
    caplog.set_level(logging.DEBUG)

    saida = importar(arquivo_pfx, "--senha", SENHA, "--organizacao", org.slug, "--uf", "SP", "--ambiente", "2",
                     "--consulta-automatica", "--nome", "Matriz")  # fmt: skip

    certificado = escopo(CertificadoDigital, org).get()
    assert saida.strip().splitlines()[-1] == str(certificado.pk)
    assert "CNPJ: 11222333000181" in saida and "Titular: DISTRIBUIDORA AURORA LTDA" in saida
    assert certificado.thumbprint in saida and "UF: 35 (SP)" in saida
    assert (certificado.nome, certificado.uf, certificado.ambiente, certificado.consulta_automatica) == ("Matriz", "35", 2, True)
    assert SENHA not in saida and SENHA not in caplog.text


def test_the_password_may_come_from_the_environment(org, arquivo_pfx, monkeypatch):
    monkeypatch.setenv("FISCAL_SENHA_CERTIFICADO", SENHA)
    importar(arquivo_pfx, "--organizacao", org.slug)
    assert escopo(CertificadoDigital, org).count() == 1


@pytest.mark.parametrize(
    ("argumentos", "mensagem"),
    [
        (["nao-existe.pfx", "--senha", SENHA, "--organizacao", "{org}"], "arquivo não encontrado"),
        (["{pfx}", "--senha", "errada", "--organizacao", "{org}"], "Senha incorreta"),
        (["{pfx}", "--senha", SENHA, "--organizacao", "fantasma"], "organização 'fantasma' não encontrada"),
        (["{pfx}", "--organizacao", "{org}"], "FISCAL_SENHA_CERTIFICADO"),
        (["{pfx}", "--senha", SENHA, "--organizacao", "{org}", "--uf", "XX"], "UF inválida"),
        (["{pfx}", "--senha", SENHA, "--organizacao", "{org}", "--consulta-automatica"], "Informe a UF"),
        (["{pfx}", "--senha", SENHA, "--organizacao", "{org}", "--intervalo", "5"], "intervalo mínimo"),
        (["{pfx}", "--senha", SENHA, "--organizacao", "{org}", "--ambiente", "2"], "FISCAL_ACEITAR_HOMOLOGACAO=true"),
    ],
)
def test_errors_are_clear_and_store_nothing(org, arquivo_pfx, argumentos, mensagem, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal: no password prompt
    argumentos = [a.format(org=org.slug, pfx=arquivo_pfx) for a in argumentos]

    with pytest.raises(CommandError, match=mensagem) as erro:
        importar(*argumentos)

    assert SENHA not in str(erro.value)
    assert not escopo(CertificadoDigital, org).exists()


def test_a_duplicate_names_the_existing_certificate(org, arquivo_pfx, e_cnpj):
    existente = cadastrar_certificado(org, e_cnpj.pfx, SENHA)
    with pytest.raises(CommandError, match=f"id {existente.pk}"):
        importar(arquivo_pfx, "--senha", SENHA, "--organizacao", org.slug)


# --- recifrar_segredos ---------------------------------------------------------------------------

CHAVE_ANTIGA = Fernet.generate_key().decode()
CHAVE_NOVA = Fernet.generate_key().decode()
PRODUCAO = {"DEBUG": False, "FISCAL_CHAVE_DE_DESENVOLVIMENTO": False}


def bruto(tabela: str, coluna: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {coluna} FROM {tabela} WHERE id = %s", [pk])  # noqa: S608 (names from the test itself)
        return cursor.fetchone()[0]


def recifrar(*argumentos) -> tuple[str, str]:
    saida, erros = io.StringIO(), io.StringIO()
    call_command("recifrar_segredos", *argumentos, stdout=saida, stderr=erros)
    return saida.getvalue(), erros.getvalue()


@pytest.fixture
def segredos_na_chave_antiga(org, outra_org, e_cnpj, e_cpf):
    with override_settings(FIELD_ENCRYPTION_KEY=CHAVE_ANTIGA, **PRODUCAO):
        certificados = [cadastrar_certificado(org, e_cnpj.pfx, SENHA), cadastrar_certificado(outra_org, e_cpf.pfx, SENHA)]
        [webhook] = inserir(Webhook, org, [Webhook(
            organizacao=org, nome="ERP", url="https://erp.example.com/h", segredo="whsec_atual", segredo_anterior="whsec_velho",
            headers={"Authorization": "Bearer do-erp"},
        )])  # fmt: skip
    return certificados, webhook


def test_rotation_reencrypts_everything_with_the_new_key(segredos_na_chave_antiga, e_cnpj):
    certificados, webhook = segredos_na_chave_antiga

    with override_settings(FIELD_ENCRYPTION_KEY=f"{CHAVE_NOVA},{CHAVE_ANTIGA}", **PRODUCAO):
        simulacao, _ = recifrar("--dry-run", "--sem-progresso")
        antes = bruto("core_webhook", "segredo", webhook.pk)
        saida, erros = recifrar()
        de_novo, _ = recifrar("--sem-progresso")

    assert "simulação: recifrados: 7" in simulacao  # 2 certificates × (file, password) + 3 webhook columns
    assert "recifrados: 7, já na chave atual: 0" in saida and "ilegíveis: 0" in saida
    assert "recifrados: 0, já na chave atual: 7" in de_novo  # idempotent
    assert "linha" in erros  # the progress bar
    assert bruto("core_webhook", "segredo", webhook.pk) != antes
    with override_settings(FIELD_ENCRYPTION_KEY=CHAVE_NOVA, **PRODUCAO):  # the old key is gone
        recarregado = escopo(Webhook, webhook.organizacao).get()
        assert (recarregado.segredo, recarregado.segredo_anterior) == ("whsec_atual", "whsec_velho")
        assert recarregado.headers == {"Authorization": "Bearer do-erp"}
        for certificado in certificados:
            salvo = escopo(CertificadoDigital, certificado.organizacao).get()
            assert salvo.senha == SENHA
            assert a1_do_certificado(salvo).thumbprint == certificado.thumbprint
    assert SENHA not in saida + erros


def test_a_value_no_key_can_open_is_reported_without_its_content(segredos_na_chave_antiga):
    _, webhook = segredos_na_chave_antiga
    estranho = Fernet(Fernet.generate_key()).encrypt(b"whsec_perdido").decode()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_webhook SET segredo_anterior = %s WHERE id = %s", [estranho, webhook.pk])

    with override_settings(FIELD_ENCRYPTION_KEY=f"{CHAVE_NOVA},{CHAVE_ANTIGA}", **PRODUCAO):
        erros = io.StringIO()
        with pytest.raises(CommandError, match="1 valor"):
            call_command("recifrar_segredos", "--sem-progresso", stdout=io.StringIO(), stderr=erros)

    assert f"core.webhook#{webhook.pk}.segredo_anterior" in erros.getvalue()
    assert "perdido" not in erros.getvalue()
    assert bruto("core_webhook", "segredo_anterior", webhook.pk) == estranho  # left as it was


def test_a_value_changed_during_the_run_is_not_overwritten(segredos_na_chave_antiga, monkeypatch):
    _, webhook = segredos_na_chave_antiga
    from core import recifragem

    original = recifragem.recifrar

    def e_no_meio_alguem_rotaciona(token):
        novo = original(token)
        if bruto("core_webhook", "segredo", webhook.pk) == token:
            with connection.cursor() as cursor:
                cursor.execute("UPDATE core_webhook SET segredo = %s WHERE id = %s", [cifrar("whsec_novo"), webhook.pk])
        return novo

    monkeypatch.setattr(recifragem, "recifrar", e_no_meio_alguem_rotaciona)
    with override_settings(FIELD_ENCRYPTION_KEY=f"{CHAVE_NOVA},{CHAVE_ANTIGA}", **PRODUCAO):
        saida, _ = recifrar("--sem-progresso")
        assert escopo(Webhook, webhook.organizacao).get().segredo == "whsec_novo"

    assert "alterados durante a execução: 1" in saida
