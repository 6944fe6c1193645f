"""python manage.py reler_documentos [--organizacao SLUG]: fill fields added by a newer release from the kept XML.

Run once after upgrading to the release that reads the tax reform (README, "Atualização"); safe to run again.
"""

from django.core.management.base import BaseCommand

from core.documentos.releitura import reler
from core.management.argumentos import organizacao_pelo_slug


class Command(BaseCommand):
    help = (
        "Relê o XML guardado das NF-e e CT-e e preenche os campos que esta versão lê e as anteriores não liam "
        "(IBS, CBS, IS, vItem, vNFTot, vTotDFe, finalidade, prazo da manifestação) e recalcula o estado da "
        "manifestação das NF-e a partir dos eventos guardados."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organizacao", help="slug da organização (padrão: todas)")

    def handle(self, *args, organizacao=None, **options):
        organizacoes = [organizacao_pelo_slug(organizacao)] if organizacao else None

        def mostrar(relido):
            if relido.erro:
                self.stderr.write(f"{relido.modelo} {relido.chave}: não foi possível reler ({relido.erro})")
            else:
                self.stdout.write(f"{relido.modelo} {relido.chave}: {', '.join(relido.campos)}")

        mudaram, falharam = reler(organizacoes, progresso=mostrar)
        resumo = f"reler_documentos: {mudaram} documento(s) relidos"
        if falharam:
            resumo += f", {falharam} não puderam ser relidos"
        self.stdout.write(resumo)
