"""python manage.py reverificar_assinaturas [--organizacao SLUG]: today's signature checks on stored documents.

Run once after upgrading to the release with the ICP-Brasil chain and signer rules (README, "Atualização").
"""

from django.core.management.base import BaseCommand

from core.documentos.reverificacao import reverificar
from core.management.argumentos import organizacao_pelo_slug
from core.models import EstadoAssinatura


class Command(BaseCommand):
    help = "Confere de novo a assinatura dos documentos guardados, pelas regras de hoje (cadeia ICP-Brasil, signatário)."

    def add_arguments(self, parser):
        parser.add_argument("--organizacao", help="slug da organização (padrão: todas)")

    def handle(self, *args, organizacao=None, **options):
        organizacoes = [organizacao_pelo_slug(organizacao)] if organizacao else None

        def mostrar(mudanca):
            linha = f"{mudanca.modelo} {mudanca.chave}: {mudanca.antes} -> {mudanca.depois}"
            if mudanca.motivo and mudanca.depois == EstadoAssinatura.INVALIDA:
                linha += f" ({mudanca.motivo})"
            self.stdout.write(linha)

        contagem = reverificar(organizacoes, progresso=mostrar)
        total = sum(contagem.values())
        resumo = ", ".join(f"{n} {estado}" for estado, n in sorted(contagem.items())) or "nenhuma mudança"
        self.stdout.write(f"reverificar_assinaturas: {total} documento(s) mudaram: {resumo}")
