"""python manage.py importar_certificado ARQUIVO.pfx --organizacao SLUG [--senha S] [--uf SP|35] ..."""

import getpass
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.certificados import (
    CertificadoInvalido,
    OpcaoInvalida,
    cadastrar_certificado,
    dias_para_vencer,
)
from core.certificados.opcoes import sigla_da_uf
from core.management.argumentos import organizacao_pelo_slug
from core.models import Ambiente

VARIAVEL_DA_SENHA = "FISCAL_SENHA_CERTIFICADO"


class Command(BaseCommand):
    help = (
        "Cadastra um certificado A1 (.pfx/.p12) numa organização e imprime seus dados (nunca a senha); "
        "a última linha é o id do certificado. A senha vem de --senha ou, para não ficar no histórico do "
        f"shell, da variável de ambiente {VARIAVEL_DA_SENHA}; sem nenhuma das duas, num terminal ela é "
        "pedida sem eco."
    )

    def add_arguments(self, parser):
        parser.add_argument("arquivo", metavar="ARQUIVO", help="O certificado A1 (.pfx ou .p12)")
        parser.add_argument("--organizacao", required=True, metavar="SLUG", help="Slug da organização")
        parser.add_argument(
            "--senha", help=f"Senha do arquivo (prefira a variável de ambiente {VARIAVEL_DA_SENHA})"
        )
        parser.add_argument("--nome", default="", help="Apelido do certificado")
        parser.add_argument("--uf", help="UF do interessado (cUFAutor): sigla (SP) ou código IBGE (35)")
        parser.add_argument("--ambiente", choices=["1", "2"], default="1", help="1 produção (padrão), 2 homologação")
        parser.add_argument(
            "--consulta-automatica", action="store_true", help="Liga a captura automática na SEFAZ (exige a UF)"
        )
        parser.add_argument("--intervalo", type=int, metavar="MINUTOS", help="Intervalo entre consultas (mínimo 60)")
        parser.add_argument("--servicos", metavar="nfe,cte", help="Serviços consultados (padrão: os da organização)")

    def handle(self, *args, arquivo, organizacao, senha, nome, uf, ambiente, consulta_automatica, intervalo,
               servicos, **options):  # fmt: skip
        org = organizacao_pelo_slug(organizacao)
        caminho = Path(arquivo)
        if not caminho.is_file():
            raise CommandError(f"{arquivo}: arquivo não encontrado")
        opcoes = {"nome": nome, "uf": uf, "ambiente": ambiente, "consulta_automatica": consulta_automatica}
        if intervalo is not None:
            opcoes["intervalo_minutos"] = intervalo
        if servicos is not None:
            opcoes["servicos"] = servicos
        try:
            certificado = cadastrar_certificado(org, caminho.read_bytes(), self._senha(senha), **opcoes)
        except (CertificadoInvalido, OpcaoInvalida) as erro:
            raise CommandError(f"{caminho.name}: {erro}") from None
        self._mostrar(certificado)

    def _senha(self, senha: str | None) -> str:
        if senha is not None:
            return senha
        if VARIAVEL_DA_SENHA in os.environ:
            return os.environ[VARIAVEL_DA_SENHA]
        if sys.stdin.isatty():
            return getpass.getpass("Senha do certificado: ")
        raise CommandError(f"informe a senha do certificado com --senha ou na variável de ambiente {VARIAVEL_DA_SENHA}")

    def _mostrar(self, certificado) -> None:
        ambiente = Ambiente(certificado.ambiente)
        uf = f"{certificado.uf} ({sigla_da_uf(certificado.uf)})" if certificado.uf else "não informada"
        linhas = [
            f"Certificado cadastrado: id {certificado.pk}",
            f"Titular: {certificado.titular}",
            f"CNPJ: {certificado.cnpj}" if certificado.cnpj else f"CPF: {certificado.cpf}",
            f"Emissor: {certificado.emissor}",
            f"Número de série: {certificado.numero_serie}",
            f"Thumbprint (SHA-256): {certificado.thumbprint}",
            f"Validade: {certificado.validade_inicio:%d/%m/%Y} a {certificado.validade_fim:%d/%m/%Y} "
            f"({dias_para_vencer(certificado.validade_fim)} dias para vencer)",
            f"UF: {uf}; ambiente: {ambiente.value} ({ambiente.label}); "
            f"consulta automática: {'sim' if certificado.consulta_automatica else 'não'}",
            str(certificado.pk),  # last line: the id, for scripts
        ]
        self.stdout.write("\n".join(linhas))
