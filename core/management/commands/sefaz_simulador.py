"""python manage.py sefaz_simulador [--porta 8443] [--ambiente 1] [--gerar-certificado CNPJ --saida DIR --senha S]
[--documentos N --cnpj CNPJ]

Runs the local SEFAZ simulator (core.sefaz.simulador) in the foreground until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.documentos.chave import somente_documento
from core.geracao.certificado import gerar_certificado
from core.geracao.documentos import gerar_cte, gerar_nfe
from core.sefaz.simulador import Simulador

# Emitter and carrier of the pre-published demo documents (valid CNPJs, fictitious companies).
_EMITENTE = "33444555000181"
_TRANSPORTADORA = "19131243000197"


class Command(BaseCommand):
    help = (
        "Sobe um simulador local dos serviços do Ambiente Nacional (NFeDistribuicaoDFe, CTeDistribuicaoDFe, "
        "NFeRecepcaoEvento4) em HTTPS com certificado de cliente obrigatório, para desenvolvimento e demonstração. "
        "Imprime as URLs para SEFAZ_NFE_DISTRIBUICAO_URL, SEFAZ_CTE_DISTRIBUICAO_URL e SEFAZ_NFE_EVENTO_URL e o "
        "caminho para SEFAZ_CA_BUNDLE. Ctrl-C ou SIGTERM encerram."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parar = threading.Event()  # set by SIGTERM/Ctrl-C (or by a test driving the command)
        self.pronto = threading.Event()
        self.simulador: Simulador | None = None

    def add_arguments(self, parser):
        parser.add_argument("--porta", type=int, default=8443, help="Porta em 127.0.0.1 (0: qualquer livre)")
        parser.add_argument("--ambiente", type=int, choices=[1, 2], default=1, help="1 produção, 2 homologação")
        parser.add_argument("--lote", type=int, default=50, help="Máximo de documentos por resposta (1 a 50)")
        parser.add_argument("--primeiro-uso", action="store_true",
                            help="CNPJ nunca visto recebe 137 com maxNSU 0 na primeira consulta")  # fmt: skip
        parser.add_argument("--gerar-certificado", metavar="CNPJ", help="Grava um A1 de teste (.pfx) para o CNPJ")
        parser.add_argument("--saida", metavar="DIR", help="Pasta do .pfx e da AC do simulador")
        parser.add_argument("--senha", help="Senha do .pfx gerado")
        parser.add_argument("--documentos", type=int, default=0, metavar="N", help="Publica N documentos gerados")
        parser.add_argument("--cnpj", help="Destinatário dos documentos publicados (padrão: o do certificado)")

    def handle(self, *args, porta, ambiente, lote, primeiro_uso, gerar_certificado, saida, senha, documentos,
               cnpj, **options):  # fmt: skip
        if gerar_certificado and not (saida and senha):
            raise CommandError("--gerar-certificado exige --saida e --senha")
        destinatario = somente_documento(cnpj or gerar_certificado or "")
        if documentos and len(destinatario) != 14:
            raise CommandError("--documentos exige --cnpj (14 caracteres) ou --gerar-certificado")
        if saida:
            os.makedirs(saida, exist_ok=True)
        try:
            sim = Simulador(ambiente=ambiente, lote=lote, primeiro_uso=primeiro_uso, porta=porta, diretorio=saida)
            sim.iniciar()
        except (ValueError, OSError) as erro:
            raise CommandError(f"não foi possível iniciar o simulador: {erro}") from None
        self.simulador = sim
        try:
            self._preparar(sim, gerar_certificado, saida, senha, documentos, destinatario, ambiente)
            self._esperar()
        finally:
            sim.parar()
        return f"Simulador parado: {len(sim.chamadas)} chamada(s) atendida(s)."

    def _preparar(self, sim, cnpj_certificado, saida, senha, documentos, destinatario, ambiente) -> None:
        self.stdout.write(f"Simulador SEFAZ (ambiente {ambiente}) ouvindo em https://127.0.0.1:{sim.porta}")
        self.stdout.write(f"SEFAZ_NFE_DISTRIBUICAO_URL={sim.url_nfe_distribuicao}")
        self.stdout.write(f"SEFAZ_CTE_DISTRIBUICAO_URL={sim.url_cte_distribuicao}")
        self.stdout.write(f"SEFAZ_NFE_EVENTO_URL={sim.url_nfe_evento}")
        self.stdout.write(f"SEFAZ_CA_BUNDLE={sim.ca_pem}")
        if cnpj_certificado:
            caminho = escrever_pfx(somente_documento(cnpj_certificado), Path(saida), senha)
            self.stdout.write(f"Certificado A1 de teste: {caminho} (emitido pela AC TESTE FISCAL deste processo)")
        if documentos:
            publicados = publicar_documentos(sim, destinatario, documentos, ambiente)
            self.stdout.write(f"{publicados} documento(s) publicado(s) para {destinatario}")
        self.stdout.write("Ctrl-C para parar.")
        self.pronto.set()

    def _esperar(self) -> None:
        principal = threading.current_thread() is threading.main_thread()
        anterior = signal.signal(signal.SIGTERM, lambda *_: self.parar.set()) if principal else None
        try:
            while not self.parar.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if principal:
                signal.signal(signal.SIGTERM, anterior)


def escrever_pfx(cnpj: str, pasta: Path, senha: str) -> Path:
    """An A1 test certificate for ``cnpj``; the file is readable by its owner only."""
    if len(cnpj) != 14:
        raise CommandError("--gerar-certificado espera um CNPJ de 14 caracteres")
    certificado = gerar_certificado(cnpj=cnpj, nome="EMPRESA DEMONSTRACAO LTDA")
    caminho = pasta / f"{cnpj}.pfx"
    descritor = os.open(caminho, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descritor, "wb") as arquivo:
        arquivo.write(certificado.pfx(senha.encode()))
    return caminho


def publicar_documentos(sim: Simulador, destinatario: str, quantos: int, ambiente: int) -> int:
    """Mostly NF-e for the destinatário (resNFe now, nfeProc after a manifestação), every fourth a CT-e."""
    emitente = gerar_certificado(cnpj=_EMITENTE, nome="DISTRIBUIDORA DEMONSTRACAO LTDA")
    transportadora = gerar_certificado(cnpj=_TRANSPORTADORA, nome="TRANSPORTES DEMONSTRACAO LTDA")
    rng = random.Random(destinatario)
    publicados = 0
    for numero in range(1, quantos + 1):
        if numero % 4 == 0:
            cte = gerar_cte(certificado=transportadora, rng=rng, destinatario_documento=destinatario, tomador="3",
                            numero=numero, ambiente=ambiente)  # fmt: skip
            nsu = sim.publicar(destinatario, "cte", cte.xml)
        else:
            nfe = gerar_nfe(certificado=emitente, rng=rng, destinatario_documento=destinatario, numero=numero,
                            ambiente=ambiente)  # fmt: skip
            nsu = sim.publicar_para_destinatario(destinatario, nfe)
        publicados += nsu is not None
    return publicados

