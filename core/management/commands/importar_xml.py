"""python manage.py importar_xml PATH [PATH ...] --organizacao SLUG"""

from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.documentos.importacao import Entrada, importar
from core.models import ImportLog, Organizacao, Origem

EXTENSOES_EM_PASTAS = {".xml", ".zip"}


class Command(BaseCommand):
    help = "Importa XMLs de NF-e/CT-e (arquivos, pastas recursivas e ZIPs) para uma organização."

    def add_arguments(self, parser):
        parser.add_argument("caminhos", nargs="+", metavar="PATH", help="Arquivo XML, ZIP ou pasta")
        parser.add_argument("--organizacao", required=True, metavar="SLUG", help="Slug da organização")
        parser.add_argument("--sem-progresso", action="store_true", help="Não mostrar a barra de progresso")

    def handle(self, *args, caminhos, organizacao, sem_progresso, **options):
        org = Organizacao.objects.filter(slug=organizacao).first()
        if org is None:
            raise CommandError(f"organização {organizacao!r} não encontrada (use o slug, ex.: criar_organizacao)")
        arquivos = self._listar(caminhos)
        barra = tqdm(total=len(arquivos), unit="arq", disable=sem_progresso, file=self.stderr._out)
        contagem = Counter()
        resultados = importar(organizacao=org, entradas=self._ler(arquivos, barra), origem=Origem.PASTA)
        for resultado in resultados:
            contagem[resultado.status] += 1
            if resultado.status == ImportLog.Status.ERRO:
                tqdm.write(f"ERRO {resultado.arquivo}: {resultado.mensagem}", file=self.stderr._out)
        barra.close()
        resumo = (
            f"importados: {contagem[ImportLog.Status.SUCESSO]}, duplicados: {contagem[ImportLog.Status.DUPLICADO]}, "
            f"erros: {contagem[ImportLog.Status.ERRO]}"
        )
        self.stdout.write(resumo)
        if contagem[ImportLog.Status.ERRO]:
            raise CommandError(f"{contagem[ImportLog.Status.ERRO]} documento(s) com erro; veja as mensagens acima")

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

    def _ler(self, arquivos: list[Path], barra):
        for caminho in arquivos:
            yield _ler_arquivo(caminho)
            barra.update(1)


def _ler_arquivo(caminho: Path) -> Entrada:
    limite = max(settings.FISCAL_MAX_ZIP_TOTAL_BYTES, settings.FISCAL_MAX_XML_BYTES)
    try:
        if caminho.stat().st_size > limite:
            return Entrada(str(caminho), b"", erro=f"arquivo com mais de {limite} bytes, acima do limite de importação")
        return Entrada(str(caminho), caminho.read_bytes())
    except OSError as erro:
        return Entrada(str(caminho), b"", erro=f"não foi possível ler o arquivo: {erro.strerror}")
