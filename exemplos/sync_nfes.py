"""Mantém uma pasta local com o XML de cada NF-e e CT-e da conta, em dia com o fiscal.

    export FISCAL_URL=https://fiscal.suaempresa.com.br FISCAL_TOKEN=...
    python exemplos/sync_nfes.py --pasta xmls --once           # uma sincronização e sai
    python exemplos/sync_nfes.py --pasta xmls --intervalo 300  # em laço, a cada 5 minutos

Cada documento completo vira `{chave}-procNFe.xml` (NF-e e NFC-e) ou `{chave}-procCTe.xml` (CT-e e
CT-e OS), byte a byte como o fiscal recebeu. Resumos (resNFe) não são gravados: o XML completo chega
depois, num `documento_atualizado`, e aí é baixado.

Como acompanha: a primeira execução lista todos os documentos completos (ou os emitidos desde
`--desde`) e baixa os que faltam; depois disso, só o feed de eventos (`GET /api/eventos/`) é lido, a
partir do cursor guardado no arquivo de estado (`--estado`, padrão `PASTA/.sync_nfes.json`). Uma
execução interrompida retoma do último evento processado; apagar o arquivo de estado refaz a carga
inicial (os XMLs que já estão na pasta não são baixados de novo).

Limite de requisições: quando a resposta diz `X-RateLimit-Remaining: 0`, a próxima requisição espera o
fim da janela (`X-RateLimit-Reset`) em vez de levar um 429; toda espera (a cota, um `Retry-After`, uma
nova tentativa depois de uma falha) é dita no log, com quanto tempo e por quê.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

# The client is one file at the repository root; copy it next to this file in your own project.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fiscal_api_client import FiscalAPIClient, FiscalAPIError, NaoEncontradoError

logger = logging.getLogger("sync_nfes")

TIPOS_DE_EVENTO = ["nfe_importada", "cte_importado", "documento_atualizado"]
# documento_atualizado with these reasons replaced the stored XML (summary -> full, protocol attached).
MOTIVOS_QUE_TROCAM_O_XML = {"xml_completo", "protocolo"}
MODELOS_CTE = {"57", "67"}
SALVAR_ESTADO_A_CADA = 100  # events; the state is also saved at the end of every run


@dataclass
class Resumo:
    novos: int = 0
    atualizados: int = 0
    eventos: int = 0
    cursor: str = ""

    def __str__(self) -> str:
        return (
            f"sincronização concluída: {self.novos} XML(s) novo(s), {self.atualizados} atualizado(s), "
            f"{self.eventos} evento(s) lido(s), cursor {self.cursor or '(início)'}"
        )


class Sincronizador:
    def __init__(self, cliente: FiscalAPIClient, pasta: Path, estado: Path, desde: str | None = None):
        self.cliente, self.pasta, self.caminho_estado, self.desde = cliente, pasta, estado, desde
        self.parar = False

    def sincronizar(self) -> Resumo:
        """Uma passada: carga inicial se ainda não houve, depois o feed a partir do cursor."""
        self.pasta.mkdir(parents=True, exist_ok=True)
        estado = self.ler_estado()
        resumo = Resumo(cursor=estado.get("cursor", ""))
        if not estado.get("carga_inicial_concluida"):
            self.carga_inicial(resumo)
            if self.parar:
                return resumo
            estado = {"cursor": "", "carga_inicial_concluida": True}
            self.salvar_estado(estado)
        try:
            for evento in self.cliente.iterar_eventos(estado["cursor"], tipos=TIPOS_DE_EVENTO):
                self.tratar_evento(evento, resumo)
                estado["cursor"] = resumo.cursor = evento["id"]
                resumo.eventos += 1
                if resumo.eventos % SALVAR_ESTADO_A_CADA == 0:
                    self.salvar_estado(estado)
                if self.parar:
                    break
        finally:
            # Also on an error: the next run resumes after the last event fully handled.
            self.salvar_estado(estado)
        return resumo

    def carga_inicial(self, resumo: Resumo) -> None:
        logger.info(
            "primeira execução: listando os documentos completos%s", f" desde {self.desde}" if self.desde else ""
        )
        filtros = {"completa": True, "data_inicio": self.desde}
        for documentos in (self.cliente.iterar_nfes(**filtros), self.cliente.iterar_ctes(**filtros)):
            for documento in documentos:
                if not self.arquivo(documento["chave"], documento.get("modelo")).exists():
                    self.baixar(documento["chave"], documento.get("modelo"), resumo)
                if self.parar:
                    return

    def tratar_evento(self, evento: dict, resumo: Resumo) -> None:
        dados = evento.get("dados") or {}
        if not dados.get("completa") or not dados.get("chave"):
            return  # a summary (resNFe): the full XML comes later, as documento_atualizado
        trocou_o_xml = evento["evento"] == "documento_atualizado" and dados.get("motivo") in MOTIVOS_QUE_TROCAM_O_XML
        if trocou_o_xml or not self.arquivo(dados["chave"], dados.get("modelo")).exists():
            self.baixar(dados["chave"], dados.get("modelo"), resumo)

    def baixar(self, chave: str, modelo: str | None, resumo: Resumo) -> None:
        destino = self.arquivo(chave, modelo)
        try:
            conteudo = self.cliente.baixar_xml(chave)
        except NaoEncontradoError:
            # Gone from the account: one bad document must not stop the rest (nor crash-loop the sync).
            logger.warning("%s não encontrado no fiscal; ignorado", chave)
            return
        existia = destino.exists()
        if existia and destino.read_bytes() == conteudo:
            return
        gravar_atomicamente(destino, conteudo)
        if existia:
            resumo.atualizados += 1
            logger.info("%s atualizado", destino.name)
        else:
            resumo.novos += 1
            logger.info("%s baixado", destino.name)

    def arquivo(self, chave: str, modelo: str | None) -> Path:
        if modelo is None:
            modelo = chave[20:22]  # positions 21-22 of the access key
        sufixo = "procCTe" if str(modelo) in MODELOS_CTE else "procNFe"
        return self.pasta / f"{chave}-{sufixo}.xml"

    def ler_estado(self) -> dict:
        if not self.caminho_estado.exists():
            return {}
        return json.loads(self.caminho_estado.read_text(encoding="utf-8"))

    def salvar_estado(self, estado: dict) -> None:
        estado = {**estado, "atualizado_em": datetime.now(UTC).isoformat(timespec="seconds")}
        gravar_atomicamente(self.caminho_estado, json.dumps(estado, indent=2).encode("utf-8"))


def gravar_atomicamente(destino: Path, conteudo: bytes) -> None:
    """Grava num arquivo temporário e renomeia: quem lê a pasta nunca vê um XML pela metade."""
    destino.parent.mkdir(parents=True, exist_ok=True)
    descritor, temporario = tempfile.mkstemp(dir=destino.parent, prefix=f".{destino.name}.", suffix=".tmp")
    try:
        with os.fdopen(descritor, "wb") as arquivo:
            arquivo.write(conteudo)
        os.replace(temporario, destino)
    except BaseException:
        Path(temporario).unlink(missing_ok=True)
        raise


def avisar_espera(segundos: float, motivo: str) -> None:
    """A sync that goes quiet for a minute looks stuck: say that it waits, how long and why."""
    logger.info("esperando %.1f s: %s", segundos, motivo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mantém uma pasta com os XMLs das NF-e e CT-e do fiscal.")
    parser.add_argument(
        "--url", default=os.environ.get("FISCAL_URL", "http://127.0.0.1:8000"), help="endereço do fiscal (FISCAL_URL)"
    )
    parser.add_argument("--pasta", type=Path, default=Path("xmls"), help="onde gravar os XMLs (padrão: ./xmls)")
    parser.add_argument("--estado", type=Path, help="arquivo de estado (padrão: PASTA/.sync_nfes.json)")
    parser.add_argument("--desde", help="na primeira execução, só documentos emitidos desde esta data (AAAA-MM-DD)")
    parser.add_argument("--once", action="store_true", help="sincroniza uma vez e sai")
    parser.add_argument("--intervalo", type=float, default=300, help="segundos entre sincronizações (padrão 300)")
    parser.add_argument("-v", "--verbose", action="store_true", help="mostra cada requisição")
    argumentos = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if argumentos.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The token only from the environment: on the command line it would show up in `ps`.
    token = os.environ.get("FISCAL_TOKEN", "")
    if not token:
        parser.error("defina FISCAL_TOKEN com o token de API")

    with FiscalAPIClient(argumentos.url, token, respeitar_cota=True, ao_esperar=avisar_espera) as cliente:
        sincronizador = Sincronizador(
            cliente, argumentos.pasta, argumentos.estado or argumentos.pasta / ".sync_nfes.json", argumentos.desde
        )

        def encerrar(_sinal, _quadro):
            logger.info("encerrando depois do documento atual")
            sincronizador.parar = True

        signal.signal(signal.SIGTERM, encerrar)
        signal.signal(signal.SIGINT, encerrar)
        while True:
            try:
                logger.info("%s", sincronizador.sincronizar())
            except FiscalAPIError as erro:
                # Transient errors were already retried by the client; the next pass resumes from the state file.
                logger.error("sincronização interrompida: %s", erro)
                if argumentos.once:
                    return 1
            if argumentos.once or sincronizador.parar:
                return 0
            fim = time.monotonic() + argumentos.intervalo
            while not sincronizador.parar and time.monotonic() < fim:
                time.sleep(min(1.0, fim - time.monotonic()))
            if sincronizador.parar:
                return 0


if __name__ == "__main__":
    sys.exit(main())
