"""python manage.py importar_xml PATH [PATH ...] --organizacao SLUG [--processos N]"""

from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.documentos.lote import importar_caminhos, processos_sugeridos
from core.management.argumentos import organizacao_pelo_slug
from core.models import ImportLog, Origem
from core.webhooks.imediata import encerrar_entrega_imediata

EXTENSOES_EM_PASTAS = {".xml", ".zip"}


class Command(BaseCommand):
    help = "Importa XMLs de NF-e/CT-e (arquivos, pastas recursivas e ZIPs) para uma organização."

    def add_arguments(self, parser):
        parser.add_argument("caminhos", nargs="+", metavar="PATH", help="Arquivo XML, ZIP ou pasta")
        parser.add_argument("--organizacao", required=True, metavar="SLUG", help="Slug da organização")
        parser.add_argument(
            "--processos", type=int, metavar="N",
            help="Processos em paralelo (padrão: 1 até 500 arquivos; acima disso, um por núcleo)",
        )
        parser.add_argument("--sem-progresso", action="store_true", help="Não mostrar a barra de progresso")

    def handle(self, *args, **options):
        try:
            self.importar(**options)
        finally:
            # The webhooks of what was imported go out before the command returns, or go back to the
            # queue for the worker: none stays claimed by a process that no longer exists.
            encerrar_entrega_imediata()

    def importar(self, *, caminhos, organizacao, processos, sem_progresso, **options):
        org = organizacao_pelo_slug(organizacao)
        if processos is not None and processos < 1:
            raise CommandError("--processos deve ser 1 ou mais")
        arquivos = self._listar(caminhos)
        processos = processos or processos_sugeridos(len(arquivos))
        saida_erros = self.stderr._out
        barra = tqdm(total=len(arquivos), unit="arq", disable=sem_progresso, file=saida_erros)
        contagem = Counter()
        for feitos, resultados in importar_caminhos(
            organizacao=org, caminhos=arquivos, origem=Origem.PASTA, processos=processos
        ):
            for resultado in resultados:
                contagem[resultado.status] += 1
                if resultado.status == ImportLog.Status.ERRO:
                    tqdm.write(f"ERRO {resultado.arquivo}: {resultado.mensagem}", file=saida_erros)
            barra.update(feitos)
        barra.close()
        erros = contagem[ImportLog.Status.ERRO]
        self.stdout.write(
            f"importados: {contagem[ImportLog.Status.SUCESSO]}, duplicados: {contagem[ImportLog.Status.DUPLICADO]}, "
            f"erros: {erros}"
        )
        if erros:
            raise CommandError(f"{erros} documento(s) com erro; veja as mensagens acima")

    def _listar(self, caminhos: list[str]) -> list[Path]:
        arquivos = []
        for caminho in map(Path, caminhos):
            if caminho.is_dir():
                arquivos.extend(
                    p for p in sorted(caminho.rglob("*")) if p.is_file() and p.suffix.lower() in EXTENSOES_EM_PASTAS
                )
            elif caminho.is_file():
                arquivos.append(caminho)
            else:
                raise CommandError(f"{caminho}: arquivo ou pasta não encontrado")
        return arquivos
