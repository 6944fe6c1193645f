"""Cliente Python da API do fiscal (NF-e, CT-e, eventos, webhooks, certificados e SEFAZ).

Um arquivo só, que depende apenas de `requests` (Python 3.10 ou mais novo): instale-o com pip a partir
do repositório (`pip install .` na raiz, ou `pip install "git+<endereço do repositório>"`), ou copie-o
para o seu projeto.

    from fiscal_api_client import FiscalAPIClient

    cliente = FiscalAPIClient("https://fiscal.suaempresa.com.br", token="...")
    for nfe in cliente.iterar_nfes(situacao="autorizada", data_inicio="2026-11-01"):
        cliente.baixar_xml(nfe["chave"], destino="xmls/")

Regras que valem para todos os métodos:

- Cada método devolve o JSON que a API responde, sem transformação (veja INTEGRACOES.md);
  downloads devolvem `bytes`, exclusões devolvem `None`.
- Filtros são argumentos nomeados com os mesmos nomes da API (`data_inicio`, `situacao`, ...).
  Listas viram parâmetros repetidos; `True`/`False` viram `true`/`false`; `date`/`datetime` viram ISO 8601;
  `None` é ignorado.
- Falhas de conexão, 502, 503, 504 e 429 são tentadas de novo até `max_retries` vezes, respeitando
  `Retry-After` (até `espera_maxima` segundos; pedindo mais que isso, o erro sobe na hora) e, sem ele,
  com espera exponencial. Um POST só é repetido quando o servidor certamente não o processou (429, 503
  ou conexão recusada), para um evento nunca ser disparado duas vezes.
- Erros da API viram exceções tipadas (`FiscalAPIError` e subclasses) com `status_code`, `mensagem`
  (o campo `erro` da resposta) e `detalhes`.

Para receptores de webhook, `verificar_webhook(segredo, headers, corpo)` confere a assinatura
(Standard Webhooks) e devolve o evento.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Union
from urllib.parse import parse_qsl, urlsplit

import requests

__all__ = [
    "FiscalAPIClient",
    "FiscalAPIError",
    "ValidacaoError",
    "AutenticacaoError",
    "NaoEncontradoError",
    "ConflitoError",
    "LimiteExcedidoError",
    "ConexaoError",
    "AssinaturaInvalidaError",
    "Cota",
    "verificar_webhook",
]

__version__ = "1.1"

CaminhoDeArquivo = Union[str, "os.PathLike[str]"]

# Methods a retry can never turn into a second, different effect.
METODOS_IDEMPOTENTES = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
STATUS_TRANSITORIOS = frozenset({429, 502, 503, 504})
# Statuses that mean the server did not act on the request, so even a POST may be sent again.
STATUS_NAO_PROCESSADO = frozenset({429, 503})
ESPERA_BACKOFF_MAXIMA = 30.0
POR_PAGINA_AO_ITERAR = 500  # the API's maximum: fewer requests count against the rate limit
MODELOS = {"55": "nfes", "65": "nfes", "57": "ctes", "67": "ctes"}
SUFIXOS_XML = {"nfes": "procNFe", "ctes": "procCTe"}
TOLERANCIA_WEBHOOK_SEGUNDOS = 300
PREFIXO_SEGREDO = "whsec_"


# --- Exceções ---------------------------------------------------------------------------------------


class FiscalAPIError(Exception):
    """Erro devolvido pela API (ou falha ao falar com ela).

    `status_code` é o HTTP (None sem resposta), `mensagem` o campo `erro` do corpo e `detalhes` o
    campo `detalhes` (por exemplo, os campos inválidos e o motivo de cada um).
    """

    def __init__(
        self,
        mensagem: str,
        status_code: int | None = None,
        detalhes: dict | None = None,
        resposta: requests.Response | None = None,
    ):
        super().__init__(mensagem)
        self.mensagem = mensagem
        self.status_code = status_code
        self.detalhes = detalhes or {}
        self.resposta = resposta

    def __str__(self) -> str:
        prefixo = f"HTTP {self.status_code}: " if self.status_code else ""
        sufixo = f" {json.dumps(self.detalhes, ensure_ascii=False)}" if self.detalhes else ""
        return f"{prefixo}{self.mensagem}{sufixo}"


class ValidacaoError(FiscalAPIError):
    """400: parâmetros ou corpo inválidos; `detalhes` diz o campo e o motivo."""


class AutenticacaoError(FiscalAPIError):
    """401 ou 403: token ausente, inválido, de usuário inativo ou sem organização."""


class NaoEncontradoError(FiscalAPIError):
    """404: o recurso não existe ou é de outra organização."""


class ConflitoError(FiscalAPIError):
    """409: o recurso não está num estado que permita a operação (webhook desativado, NF-e só com resumo...)."""


class LimiteExcedidoError(FiscalAPIError):
    """429 depois das novas tentativas (ou com uma espera maior que `espera_maxima`).

    `retry_after` é quantos segundos o servidor pediu para esperar (None se não disse).
    """

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ConexaoError(FiscalAPIError):
    """Não foi possível falar com o servidor (DNS, conexão recusada, timeout), mesmo após as novas tentativas."""


class AssinaturaInvalidaError(ValueError):
    """A entrega de webhook não tem uma assinatura válida para o segredo (ou está fora da tolerância)."""


ERROS_POR_STATUS = {
    400: ValidacaoError,
    401: AutenticacaoError,
    403: AutenticacaoError,
    404: NaoEncontradoError,
    409: ConflitoError,
    429: LimiteExcedidoError,
}


@dataclass(frozen=True)
class Cota:
    """Os cabeçalhos X-RateLimit-* da última resposta: requisições por minuto, quantas restam e quando zera."""

    limite: int
    restantes: int
    reinicia_em: int  # segundos Unix


# --- Cliente ----------------------------------------------------------------------------------------


class FiscalAPIClient:
    """Cliente da API REST do fiscal.

    Args:
        base_url: endereço do fiscal, por exemplo `https://fiscal.suaempresa.com.br` (sem `/api`).
        token: o token de API (`Authorization: Token <token>`).
        timeout: segundos de espera por resposta em cada tentativa.
        max_retries: novas tentativas depois da primeira, em falhas transitórias.
        espera_maxima: maior `Retry-After` que o cliente aceita esperar, em segundos.
        backoff: espera base (segundos) da espera exponencial: backoff, 2×backoff, 4×backoff...
        session: uma `requests.Session` própria (proxy, certificados); por padrão, uma nova.
        respeitar_cota: com `True`, quando a última resposta disse `X-RateLimit-Remaining: 0`, a próxima
            requisição espera o fim da janela (`X-RateLimit-Reset`, até `espera_maxima`) em vez de levar um 429.
        ao_esperar: chamada como `ao_esperar(segundos, motivo)` antes de cada espera do cliente (cota,
            `Retry-After` de um 429 ou 503, nova tentativa depois de uma falha), para avisar quem espera.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 30,
        max_retries: int = 3,
        *,
        espera_maxima: float = 60.0,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        respeitar_cota: bool = False,
        ao_esperar: Callable[[float, str], None] | None = None,
    ):
        if not base_url or not token:
            raise ValueError("base_url e token são obrigatórios")
        raiz = base_url.rstrip("/")
        self.base_url = raiz[: -len("/api")] if raiz.endswith("/api") else raiz
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.espera_maxima = espera_maxima
        self.backoff = backoff
        self.ultima_cota: Cota | None = None
        self.respeitar_cota = respeitar_cota
        self.ao_esperar = ao_esperar
        # One session: its connection pool keeps the TCP/TLS connection alive between calls.
        self.session = session or requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": f"fiscal-api-client/{__version__} python-requests/{requests.__version__}",
            }
        )

    def __repr__(self) -> str:
        return f"FiscalAPIClient({self.base_url!r})"  # never the token

    def __enter__(self) -> FiscalAPIClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.fechar()

    def fechar(self) -> None:
        """Fecha as conexões abertas (keep-alive)."""
        # urllib3 2.x no longer closes the pooled connections when requests' Session.close() clears its
        # pools: an idle socket stays open for as long as anything (a response kept in an exception, for
        # one) still references its pool. Close the pools ourselves.
        for adaptador in self.session.adapters.values():
            pools = getattr(getattr(adaptador, "poolmanager", None), "pools", None)
            for chave in list(pools.keys()) if pools is not None else []:
                pool = pools.get(chave)
                if pool is not None:
                    pool.close()
        self.session.close()

    # --- NF-e ---------------------------------------------------------------------------------------

    def listar_nfes(self, **filtros: Any) -> dict:
        """Uma página de NF-e: `{"next", "previous", "results"}`.

        Filtros: `data_inicio`, `data_fim`, `emitente`, `destinatario`, `emitente_uf`, `destinatario_uf`,
        `situacao` (lista), `completa`, `numero`, `serie`, `valor_min`, `valor_max`, `modelo`,
        `tipo_operacao`, `manifestacao` (`pendente`, `nenhuma`, `ciencia`, `confirmacao`, `desconhecimento`,
        `nao_realizada`), `manifestacao_vence_em_dias`, `prazo_manifestacao_ate`, `ordering`, `limit` (até 500),
        `cursor`. Cada NF-e traz `manifestacao`: a situação que vale, o prazo (180 dias) e `dias_restantes`.

        Reforma tributária: `finalidade` (lista: 1 normal, 2 complementar, 3 ajuste, 4 devolução, 5 nota de
        crédito, 6 nota de débito), `reforma` (True: só notas com IBS/CBS/IS; False: só as sem),
        `valor_ibs_min`, `valor_ibs_max`, `valor_cbs_min`, `valor_cbs_max`. `valor_total` é o vNFTot quando a
        nota o traz, senão o vNF; `valor_nf` é sempre o vNF; os valores da reforma vêm null sem o grupo.
        """
        return self._get("nfes/", filtros)

    def iterar_nfes(self, **filtros: Any) -> Iterator[dict]:
        """Todas as NF-e que atendem aos filtros, página a página, buscadas só quando consumidas."""
        return self._iterar("nfes/", filtros)

    def buscar_nfe(self, chave: str) -> dict:
        """O detalhe de uma NF-e, com itens e eventos."""
        return self._get(f"nfes/{_chave(chave)}/")

    def totais_nfe(self, **filtros: Any) -> dict:
        """Quantidade e somas das NF-e que atendem aos filtros (os mesmos de `listar_nfes`), por situação e
        por finalidade (`por_finalidade`: devoluções e notas de crédito e débito separadas das operações)."""
        return self._get("nfes/totais/", filtros)

    # --- CT-e ---------------------------------------------------------------------------------------

    def listar_ctes(self, **filtros: Any) -> dict:
        """Uma página de CT-e: `{"next", "previous", "results"}`.

        Filtros: os de `listar_nfes` (exceto `tipo_operacao`, `finalidade` e os de manifestação) e `modal`,
        `uf_inicio`, `uf_fim`, `municipio_inicio`, `municipio_fim`, `tomador`; `valor_min`/`valor_max`
        comparam o valor da prestação, `reforma` e `valor_ibs_*`/`valor_cbs_*` o grupo IBSCBS do CT-e.
        """
        return self._get("ctes/", filtros)

    def iterar_ctes(self, **filtros: Any) -> Iterator[dict]:
        """Todos os CT-e que atendem aos filtros, página a página, buscados só quando consumidos."""
        return self._iterar("ctes/", filtros)

    def buscar_cte(self, chave: str) -> dict:
        """O detalhe de um CT-e, com eventos."""
        return self._get(f"ctes/{_chave(chave)}/")

    def totais_cte(self, **filtros: Any) -> dict:
        """Quantidade e somas dos CT-e que atendem aos filtros (os mesmos de `listar_ctes`)."""
        return self._get("ctes/totais/", filtros)

    # --- Outros documentos e eventos pendentes ------------------------------------------------------

    def listar_outros_documentos(self, **filtros: Any) -> dict:
        """Uma página de outros documentos fiscais (GTV-e, CT-e Simplificado, tipos ainda não lidos por completo).

        Filtros: `tipo` (`gtve`, `cte_simplificado`, `outro`), `situacao`, `assinatura`, `emitente`,
        `data_inicio`, `data_fim`, `ordering`, `limit`, `cursor`.
        """
        return self._get("outros-documentos/", filtros)

    def buscar_outro_documento(self, chave: str) -> dict:
        """O detalhe de um outro documento fiscal (GTV-e, CT-e Simplificado...)."""
        return self._get(f"outros-documentos/{_chave(chave)}/")

    def baixar_xml_outro_documento(self, chave: str, destino: CaminhoDeArquivo | None = None) -> bytes:
        """O XML original de um outro documento fiscal; com `destino`, grava também (`{chave}-proc.xml`)."""
        conteudo = self._baixar(f"outros-documentos/{_chave(chave)}/xml/")
        _gravar(conteudo, destino, f"{chave}-proc.xml")
        return conteudo

    def eventos_pendentes(self, **filtros: Any) -> dict:
        """Uma página de eventos (cancelamento, carta de correção...) cujo documento ainda não chegou.

        Filtros: `chave`, `tipo_evento`, `tipo_documento`, `limit`, `cursor`.
        """
        return self._get("eventos-pendentes/", filtros)

    # --- Arquivos -----------------------------------------------------------------------------------

    def baixar_xml(self, chave: str, destino: CaminhoDeArquivo | None = None) -> bytes:
        """O XML original da NF-e ou do CT-e (pelo modelo na chave), byte a byte.

        Com `destino`, grava também: numa pasta existente como `{chave}-procNFe.xml` (ou `-procCTe.xml`),
        senão no caminho dado.
        """
        colecao = _colecao(chave)
        conteudo = self._baixar(f"{colecao}/{chave}/xml/")
        _gravar(conteudo, destino, f"{chave}-{SUFIXOS_XML[colecao]}.xml")
        return conteudo

    def baixar_danfe(self, chave: str, destino: CaminhoDeArquivo | None = None) -> bytes:
        """O PDF do documento: DANFE para NF-e (DANFC-e para NFC-e), DACTE para CT-e.

        NF-e só com o resumo levanta `ConflitoError`. `destino` como em `baixar_xml`
        (`{chave}-danfe.pdf` ou `{chave}-dacte.pdf`).
        """
        colecao = _colecao(chave)
        nome = "danfe" if colecao == "nfes" else "dacte"
        conteudo = self._baixar(f"{colecao}/{chave}/{nome}/")
        _gravar(conteudo, destino, f"{chave}-{nome}.pdf")
        return conteudo

    baixar_dacte = baixar_danfe

    def exportar_nfes(
        self, destino: CaminhoDeArquivo | None = None, *, formato: str = "csv", dialeto: str = "excel", **filtros: Any
    ) -> bytes:
        """Todas as NF-e que atendem aos filtros (os de `listar_nfes`, com `ordering`) num só arquivo.

        `formato="csv"`: as colunas da lista; `dialeto="excel"` (padrão) separa com `;`, usa vírgula decimal e
        UTF-8 com BOM (abre direto no Excel em português); `dialeto="rfc4180"` separa com vírgula, usa ponto
        decimal e UTF-8 sem BOM (para programas: `csv.DictReader`). `formato="zip"`: os XMLs originais.
        Com `destino`, grava também: numa pasta existente como `nfes.csv` (ou `nfes.zip`), senão no caminho dado.
        """
        return self._exportar("nfes", destino, formato, dialeto, filtros)

    def exportar_ctes(
        self, destino: CaminhoDeArquivo | None = None, *, formato: str = "csv", dialeto: str = "excel", **filtros: Any
    ) -> bytes:
        """Todos os CT-e que atendem aos filtros (os de `listar_ctes`) num só arquivo; como `exportar_nfes`."""
        return self._exportar("ctes", destino, formato, dialeto, filtros)

    def importar_xml(self, caminho: CaminhoDeArquivo, *outros: CaminhoDeArquivo) -> dict:
        """Envia um ou mais arquivos XML ou ZIP: `{"resumo": {...}, "resultados": [...]}`.

        A resposta traz um resultado por documento (`sucesso`, `duplicado` ou `erro`, com a mensagem).
        Reenviar o mesmo arquivo é seguro (responde `duplicado`), por isso este envio é repetido em
        falhas transitórias.
        """
        caminhos = [Path(c) for c in (caminho, *outros)]
        abertos = [p.open("rb") for p in caminhos]
        try:
            arquivos = [("arquivos", (p.name, f, _tipo_de_arquivo(p))) for p, f in zip(caminhos, abertos, strict=True)]
            return self._requisitar("POST", "importar/", arquivos=arquivos, idempotente=True).json()
        finally:
            for arquivo in abertos:
                arquivo.close()

    def listar_importacoes(self, **filtros: Any) -> dict:
        """Uma página do histórico de importações (filtros `status`, `origem`, `chave`, `desde`, `ate`)."""
        return self._get("importacoes/", filtros)

    def baixar_xml_importacao(self, id: int, destino: CaminhoDeArquivo | None = None) -> bytes:
        """Os bytes que uma importação recebeu, como chegaram (também de uma que falhou).

        Com `destino`, grava também: numa pasta existente como `importacao-{id}.xml`, senão no caminho dado.
        Um arquivo que não foi guardado (acima do limite de tamanho) levanta `ConflitoError`.
        """
        conteudo = self._baixar(f"importacoes/{int(id)}/xml/")
        _gravar(conteudo, destino, f"importacao-{int(id)}.xml")
        return conteudo

    def reprocessar_importacao(self, id: int) -> dict:
        """Roda a importação de novo sobre o arquivo guardado: `{"reprocessado_de", "resumo", "resultados"}`.

        Cada chamada é uma nova tentativa registrada (idempotente: um documento já guardado responde
        `duplicado`); cada resultado traz o `id` do novo registro e, se falhou de novo, o motivo.
        """
        return self._post(f"importacoes/{int(id)}/reprocessar/")

    # --- Painel, estatísticas e busca ---------------------------------------------------------------

    def dashboard(self) -> dict:
        """Hoje e este mês (NF-e de operação, com IBS e CBS, e todas por finalidade), últimas importações,
        erros das últimas 24 h e NF-e aguardando XML completo."""
        return self._get("dashboard/")

    def estatisticas(self, **filtros: Any) -> dict:
        """Séries e rankings de um período (`inicio`, `fim`: AAAA-MM-DD; `agrupar`: `dia` ou `mes`).

        As NF-e contam só operações (finalidade 1, 2, 3 ou resumo); `por_finalidade` traz todas, separadas."""
        return self._get("estatisticas/", filtros)

    def buscar(self, q: str, limite: int | None = None) -> dict:
        """Busca NF-e e CT-e por chave (ou parte), número, CNPJ/CPF (com ou sem máscara) ou nome."""
        return self._get("buscar/", {"q": q, "limite": limite})

    # --- Eventos ------------------------------------------------------------------------------------

    def eventos_desde(
        self, cursor: str | None = None, tipos: Iterable[str] | str | None = None, limit: int | None = None
    ) -> dict:
        """Uma página do feed: os eventos depois de `cursor`, do mais antigo ao mais novo.

        Devolve `{"eventos": [...], "cursor": "evt_...", "tem_mais": bool}`. Guarde `cursor` e envie-o
        na próxima chamada. `tipos` filtra (`nfe_importada`, `cte_importado`, ...).
        """
        return self._get("eventos/", {"apos": cursor or None, "tipo": _lista(tipos), "limit": limit})

    def iterar_eventos(
        self, cursor: str | None = None, tipos: Iterable[str] | str | None = None, limit: int = POR_PAGINA_AO_ITERAR
    ) -> Iterator[dict]:
        """Todos os eventos depois de `cursor`, até o fim atual do feed.

        O `id` de cada evento é o cursor para retomar depois dele: salve-o depois de processá-lo.
        """
        while True:
            pagina = self.eventos_desde(cursor, tipos, limit)
            yield from pagina["eventos"]
            if not pagina["tem_mais"] or not pagina["eventos"]:
                return
            cursor = pagina["cursor"]

    def eventos_disponiveis(self) -> dict:
        """O catálogo: `{"eventos": [{"evento", "descricao", "exemplo"}, ...]}`."""
        return self._get("integracoes/eventos/")

    def tipos_de_evento(self, documento: str | None = None) -> list[dict]:
        """Os tipos de evento fiscal de NF-e e CT-e (`codigo`, `documento`, `nome`, `significado`, `categoria`,
        `autor`, `esquema`, `cancela`); `documento="nfe"` ou `"cte"` filtra."""
        return self._get("integracoes/tipos-de-evento/", {"documento": documento})["tipos_de_evento"]

    def disparar_evento(self, evento: str, dados: dict | None = None) -> dict:
        """Emite um evento à mão (vai ao feed e aos webhooks inscritos): `{"id", "evento", "criado_em", "entregas"}`."""
        return self._post("integracoes/disparar/", {"evento": evento, "dados": dados or {}})

    def testar_url(
        self, url: str, segredo: str | None = None, headers: dict | None = None, timeout: int | None = None
    ) -> dict:
        """Envia um evento `teste` assinado a `url`, sem salvar nada, e devolve o resultado da tentativa."""
        return self._post(
            "integracoes/testar/", _sem_nulos({"url": url, "segredo": segredo, "headers": headers, "timeout": timeout})
        )

    # --- Webhooks -----------------------------------------------------------------------------------

    def listar_webhooks(self) -> list[dict]:
        """Os webhooks da organização (sem o segredo)."""
        return self._get("webhooks/")

    def buscar_webhook(self, id: int) -> dict:
        """Um webhook (sem o segredo)."""
        return self._get(f"webhooks/{int(id)}/")

    def criar_webhook(self, nome: str, url: str, eventos: Iterable[str] | str | None = None, **campos: Any) -> dict:
        """Cria um webhook. A resposta traz o `segredo` (whsec_...), mostrado só desta vez: guarde-o.

        `eventos`: lista (ou texto separado por vírgulas); vazio recebe todos. Outros campos: `ativo`,
        `headers`, `timeout` (1 a 30 s), `max_tentativas`.
        """
        corpo = {"nome": nome, "url": url, "eventos": _lista(eventos) or [], **campos}
        return self._post("webhooks/", corpo)

    def atualizar_webhook(self, id: int, **campos: Any) -> dict:
        """Altera só os campos dados (PATCH); `ativo=True` reativa e zera o histórico de falhas."""
        if "eventos" in campos:
            campos["eventos"] = _lista(campos["eventos"]) or []
        return self._json(self._requisitar("PATCH", f"webhooks/{int(id)}/", json=campos))

    def excluir_webhook(self, id: int) -> None:
        """Apaga o webhook e seu histórico de entregas."""
        self._requisitar("DELETE", f"webhooks/{int(id)}/")

    def testar_webhook(self, id: int) -> dict:
        """Envia agora um evento `teste` ao webhook: `{"sucesso", "codigo_http", "duracao_ms", ...}`."""
        return self._post(f"webhooks/{int(id)}/testar/")

    def logs_webhook(self, id: int, **filtros: Any) -> dict:
        """Uma página das tentativas de entrega, da mais recente (`status`, `evento`, `evento_id`, `desde`, `ate`)."""
        return self._get(f"webhooks/{int(id)}/logs/", filtros)

    def reenviar(self, webhook_id: int, log_id: int) -> dict:
        """Reenvia agora o evento de uma tentativa (mesmo `webhook-id`) e devolve a tentativa nova."""
        return self._post(f"webhooks/{int(webhook_id)}/logs/{int(log_id)}/reenviar/")

    def recuperar_webhook(self, id: int, desde: datetime | date | str, dry_run: bool = False) -> dict:
        """Reenfileira todo evento desde `desde` que o webhook não recebeu: `{"eventos": n, "dry_run": bool}`."""
        return self._post(f"webhooks/{int(id)}/recuperar/", {"desde": _momento(desde), "dry_run": dry_run})

    def rotacionar_segredo(self, id: int, sobreposicao_horas: float | None = None) -> dict:
        """Gera um segredo novo: `{"segredo", "segredo_anterior_expira_em"}`.

        O anterior continua assinando (segunda assinatura) por `sobreposicao_horas` (padrão 24).
        """
        return self._post(
            f"webhooks/{int(id)}/rotacionar-segredo/", _sem_nulos({"sobreposicao_horas": sobreposicao_horas})
        )

    def estatisticas_webhooks(self, desde: datetime | date | str | None = None) -> dict:
        """Por webhook: entregas, taxa de sucesso, latências, último sucesso e último erro."""
        return self._get("webhooks/estatisticas/", {"desde": desde})

    # --- Tokens de API (administradores) ------------------------------------------------------------

    def listar_tokens(self) -> list[dict]:
        """Os tokens de API da organização, revogados inclusive (nunca a chave)."""
        return self._get("tokens/")

    def criar_token(self, nome: str, expira_em: datetime | date | str | None = None, usuario: int | None = None) -> dict:
        """Cria um token. A resposta traz a `chave` (fsc_...), mostrada só desta vez: guarde-a.

        `expira_em`: sem ela o token não expira; `usuario`: id de um membro da organização (padrão: você).
        """
        corpo = _sem_nulos({"nome": nome, "expira_em": None if expira_em is None else _momento(expira_em), "usuario": usuario})
        return self._post("tokens/", corpo)

    def revogar_token(self, id: int) -> dict:
        """Revoga o token na hora (a próxima requisição com ele recebe 401); ele continua listado."""
        return self._post(f"tokens/{int(id)}/revogar/")

    # --- Certificados e SEFAZ -----------------------------------------------------------------------

    def listar_certificados(self) -> list[dict]:
        """Os certificados A1 da organização, com metadados e opções de captura (nunca a senha)."""
        return self._get("certificados/")

    def enviar_certificado(self, caminho_pfx: CaminhoDeArquivo, senha: str, **opcoes: Any) -> dict:
        """Cadastra um certificado A1 (.pfx/.p12).

        `opcoes`: `nome`, `uf` ("SP" ou "35"), `ambiente` (1 produção, 2 homologação),
        `consulta_automatica`, `intervalo_minutos`, `servicos` (["nfe", "cte"]), `ciencia_automatica`.
        Certificado já cadastrado levanta `ConflitoError` com `detalhes["certificado"]`.
        """
        caminho = Path(caminho_pfx)
        campos = [("senha", senha)]
        for nome, valor in opcoes.items():
            campos += [(nome, v) for v in _formulario(valor)]
        with caminho.open("rb") as arquivo:
            resposta = self._requisitar(
                "POST",
                "certificados/",
                data=campos,
                arquivos=[("arquivo", (caminho.name, arquivo, "application/x-pkcs12"))],
            )
        return resposta.json()

    def consultar_sefaz(self, certificado_id: int, servicos: Iterable[str] | None = None) -> dict:
        """Consulta a SEFAZ agora (distribuição de DF-e) com o certificado.

        Dentro de uma espera da SEFAZ levanta `LimiteExcedidoError` na hora, sem nova tentativa, com
        `retry_after` e `detalhes["permitida_em"]`.
        """
        corpo = _sem_nulos({"servicos": _lista(servicos)})
        resposta = self._requisitar(
            "POST", f"certificados/{int(certificado_id)}/consultar/", json=corpo, repetir_429=False
        )
        return resposta.json()

    def consultas(self, **filtros: Any) -> dict:
        """Uma página do histórico de chamadas à SEFAZ.

        Filtros: `certificado`, `servico`, `tipo`, `cstat`, `execucao`, `com_erro`, `desde`, `ate`.
        """
        return self._get("consultas/", filtros)

    def nfes_pendentes_de_manifestacao(self, vence_em_dias: int | None = None, **filtros: Any) -> Iterator[dict]:
        """As NF-e destinadas à organização ainda sem manifestação conclusiva e no prazo, a mais urgente
        primeiro; com `vence_em_dias`, só as que vencem nesse número de dias. Aceita os filtros de `listar_nfes`."""
        filtros = {"ordering": "prazo_manifestacao", **filtros, "manifestacao": "pendente"}
        if vence_em_dias is not None:
            filtros["manifestacao_vence_em_dias"] = vence_em_dias
        return self._iterar("nfes/", filtros)

    def manifestacoes(self, **filtros: Any) -> dict:
        """Uma página das manifestações pedidas e de cada tentativa de registrá-las (`historico`).

        Filtros: `situacao` (`pendente`, `registrada`, `falhou`), `tipo`, `chave`, `limit`, `cursor`.
        """
        return self._get("manifestacoes/", filtros)

    def manifestar(
        self, chave: str, tipo: str, justificativa: str | None = None, certificado: int | None = None
    ) -> dict:
        """Manifestação do destinatário: `ciencia`, `confirmacao`, `desconhecimento` ou `nao_realizada`.

        `nao_realizada` exige `justificativa` (15 a 255 caracteres). Devolve `{"resultados": [...]}`,
        com `registrada`, `cstat` e `xmotivo` da SEFAZ e a `sequencia` enviada: uma manifestação conclusiva
        pode ser repetida uma vez (nSeqEvento 2) e vale a última; a ciência, uma vez só.
        """
        corpo = _sem_nulos({"tipo": tipo, "justificativa": justificativa, "certificado": certificado})
        return self._post(f"nfes/{_chave(chave)}/manifestar/", corpo)

    def manifestar_lote(
        self, chaves: Iterable[str], tipo: str, justificativa: str | None = None, certificado: int | None = None
    ) -> dict:
        """A mesma manifestação para até 20 NF-e: `{"resultados": [...]}`, um por chave."""
        corpo = _sem_nulos(
            {"chaves": list(chaves), "tipo": tipo, "justificativa": justificativa, "certificado": certificado}
        )
        return self._post("nfes/manifestar/", corpo)

    # --- HTTP ---------------------------------------------------------------------------------------

    def _get(self, caminho: str, filtros: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._requisitar("GET", caminho, params=_parametros(filtros or {})))

    def _post(self, caminho: str, corpo: Mapping[str, Any] | None = None) -> Any:
        return self._json(self._requisitar("POST", caminho, json=dict(corpo or {})))

    def _baixar(self, caminho: str) -> bytes:
        resposta = self._requisitar("GET", caminho, cabecalhos={"Accept": "*/*"})
        return resposta.content

    def _exportar(self, colecao: str, destino: CaminhoDeArquivo | None, formato: str, dialeto: str,
                  filtros: Mapping[str, Any]) -> bytes:  # fmt: skip
        parametros = {**filtros, "formato": formato, "dialeto": dialeto if formato == "csv" else None}
        resposta = self._requisitar("GET", f"{colecao}/exportar/", params=_parametros(parametros), cabecalhos={"Accept": "*/*"})
        _gravar(resposta.content, destino, f"{colecao}.{formato}")
        return resposta.content

    def _iterar(self, caminho: str, filtros: Mapping[str, Any]) -> Iterator[dict]:
        parametros = _parametros({"limit": POR_PAGINA_AO_ITERAR, **filtros})
        while True:
            pagina = self._json(self._requisitar("GET", caminho, params=parametros))
            yield from pagina["results"]
            if not pagina.get("next"):
                return
            # Only the query of `next` is reused: its host and scheme are the server's view of the
            # request, which behind a proxy may not be an address this client can reach.
            parametros = parse_qsl(urlsplit(pagina["next"]).query, keep_blank_values=True)

    @staticmethod
    def _json(resposta: requests.Response) -> Any:
        if resposta.status_code == 204 or not resposta.content:
            return None
        return resposta.json()

    def _requisitar(
        self,
        metodo: str,
        caminho: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        arquivos: list | None = None,
        cabecalhos: dict | None = None,
        idempotente: bool | None = None,
        repetir_429: bool = True,
    ) -> requests.Response:
        url = f"{self.base_url}/api/{caminho}"
        repetivel = metodo in METODOS_IDEMPOTENTES if idempotente is None else idempotente
        tentativa = 0
        while True:
            for _campo, (_nome, arquivo, _tipo) in arquivos or []:
                arquivo.seek(0)  # a retry sends the whole file again
            self._aguardar_cota()
            try:
                resposta = self.session.request(
                    metodo, url, params=params, json=json, data=data, files=arquivos, headers=cabecalhos,
                    timeout=self.timeout,
                )  # fmt: skip
            except requests.exceptions.SSLError as erro:
                raise ConexaoError(f"falha de TLS ao falar com {self.base_url}: {erro}") from erro
            except (requests.ConnectionError, requests.Timeout) as erro:
                if tentativa < self.max_retries and (repetivel or _nao_enviada(erro)):
                    self._esperar(tentativa, None)
                    tentativa += 1
                    continue
                raise ConexaoError(f"não foi possível falar com {self.base_url}: {erro}") from erro
            # The body is already in memory (no streaming): hand the connection back to the pool now,
            # even if the response lives on (in an exception), so that fechar() really closes it.
            resposta.close()
            self._anotar_cota(resposta)
            if resposta.status_code < 400:
                return resposta
            espera = _retry_after(resposta)
            if self._repetir(resposta.status_code, tentativa, repetivel, repetir_429, espera):
                self._esperar(tentativa, espera)
                tentativa += 1
                continue
            raise _erro_da_resposta(resposta, espera)

    def _repetir(self, status: int, tentativa: int, repetivel: bool, repetir_429: bool, espera: float | None) -> bool:
        if status not in STATUS_TRANSITORIOS or tentativa >= self.max_retries:
            return False
        if status == 429 and not repetir_429:
            return False
        if espera is not None and espera > self.espera_maxima:
            return False  # waiting less than asked would only earn another refusal
        return repetivel or status in STATUS_NAO_PROCESSADO

    def _esperar(self, tentativa: int, retry_after: float | None) -> None:
        if retry_after is not None:
            segundos, motivo = retry_after, "o servidor pediu (Retry-After)"
        else:
            # Full jitter: clients that failed together do not all come back at the same instant.
            segundos = random.uniform(0, min(ESPERA_BACKOFF_MAXIMA, self.backoff * 2**tentativa))
            motivo = f"falha transitória, nova tentativa {tentativa + 1} de {self.max_retries}"
        self._avisar_e_dormir(segundos, motivo)

    def _aguardar_cota(self) -> None:
        """With respeitar_cota, wait out a spent window instead of spending a request on a 429."""
        cota = self.ultima_cota
        if not self.respeitar_cota or cota is None or cota.restantes > 0:
            return
        self.ultima_cota = None  # one wait per spent window
        # The reset is the server's clock; a local clock far off must not make the wait absurd.
        segundos = min(cota.reinicia_em - time.time(), self.espera_maxima)
        if segundos > 0:
            self._avisar_e_dormir(segundos, f"limite de {cota.limite} requisições por minuto atingido (X-RateLimit-Reset)")

    def _avisar_e_dormir(self, segundos: float, motivo: str) -> None:
        if self.ao_esperar is not None:
            self.ao_esperar(segundos, motivo)
        self._dormir(segundos)

    def _dormir(self, segundos: float) -> None:
        time.sleep(segundos)

    def _anotar_cota(self, resposta: requests.Response) -> None:
        try:
            self.ultima_cota = Cota(
                int(resposta.headers["X-RateLimit-Limit"]),
                int(resposta.headers["X-RateLimit-Remaining"]),
                int(resposta.headers["X-RateLimit-Reset"]),
            )
        except (KeyError, ValueError):
            pass


# --- Auxiliares do cliente ---------------------------------------------------------------------------


def _chave(chave: str) -> str:
    chave = str(chave).strip()
    if len(chave) != 44 or not chave.isalnum():
        raise ValueError(f"chave de acesso inválida (esperados 44 caracteres): {chave!r}")
    return chave


def _colecao(chave: str) -> str:
    """`nfes` ou `ctes`, pelo modelo na chave (posições 21 e 22: 55/65 NF-e e NFC-e, 57/67 CT-e e CT-e OS)."""
    modelo = _chave(chave)[20:22]
    if modelo not in MODELOS:
        raise ValueError(f"modelo {modelo} na chave {chave}: esperado 55, 65 (NF-e) ou 57, 67 (CT-e)")
    return MODELOS[modelo]


def _valor(valor: Any) -> str:
    if isinstance(valor, bool):
        return "true" if valor else "false"
    if isinstance(valor, (date, datetime)):
        return valor.isoformat()
    return str(valor)


def _parametros(filtros: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query string parameters: lists repeat the key, None is left out."""
    pares = []
    for nome, valor in filtros.items():
        if valor is None:
            continue
        valores = valor if isinstance(valor, (list, tuple, set, frozenset)) else [valor]
        pares += [(nome, _valor(v)) for v in valores if v is not None]
    return pares


def _formulario(valor: Any) -> list[str]:
    if valor is None:
        return []
    if isinstance(valor, (list, tuple, set, frozenset)):
        return [_valor(v) for v in valor]
    return [_valor(valor)]


def _lista(valor: Iterable[str] | str | None) -> list[str] | None:
    if valor is None:
        return None
    if isinstance(valor, str):
        return [parte.strip() for parte in valor.split(",") if parte.strip()]
    return list(valor)


def _sem_nulos(corpo: Mapping[str, Any]) -> dict:
    return {nome: valor for nome, valor in corpo.items() if valor is not None}


def _momento(valor: datetime | date | str) -> str:
    if isinstance(valor, datetime):
        return valor.isoformat()
    if isinstance(valor, date):
        return f"{valor.isoformat()}T00:00:00"  # midnight in the server's time zone
    return str(valor)


def _tipo_de_arquivo(caminho: Path) -> str:
    return "application/zip" if caminho.suffix.lower() == ".zip" else "application/xml"


def _gravar(conteudo: bytes, destino: CaminhoDeArquivo | None, nome_padrao: str) -> None:
    if destino is None:
        return
    caminho = Path(destino)
    if caminho.is_dir():
        caminho = caminho / nome_padrao
    caminho.write_bytes(conteudo)


def _nao_enviada(erro: Exception) -> bool:
    """True when the request certainly never reached the server (refused or timed out while connecting)."""
    if isinstance(erro, requests.exceptions.ConnectTimeout):
        return True
    causa = erro.args[0] if erro.args else None
    motivo = getattr(causa, "reason", causa)
    return type(motivo).__name__ in {"NewConnectionError", "NameResolutionError"}


def _retry_after(resposta: requests.Response) -> float | None:
    """`Retry-After` in seconds: a number or an HTTP date (RFC 9110); None when absent or unreadable."""
    valor = resposta.headers.get("Retry-After", "").strip()
    if not valor:
        return None
    if valor.isdigit():
        return float(valor)
    try:
        instante = parsedate_to_datetime(valor)
    except (TypeError, ValueError):
        return None
    return max(0.0, instante.timestamp() - time.time())


def _erro_da_resposta(resposta: requests.Response, retry_after: float | None) -> FiscalAPIError:
    try:
        corpo = resposta.json()
    except ValueError:
        corpo = None
    if isinstance(corpo, dict) and "erro" in corpo:
        mensagem, detalhes = str(corpo["erro"]), corpo.get("detalhes") or {}
    else:
        mensagem, detalhes = (resposta.text or "").strip()[:300] or resposta.reason or "erro", {}
    classe = ERROS_POR_STATUS.get(resposta.status_code, FiscalAPIError)
    argumentos = {"status_code": resposta.status_code, "detalhes": detalhes, "resposta": resposta}
    if classe is LimiteExcedidoError:
        return LimiteExcedidoError(mensagem, retry_after=retry_after, **argumentos)
    return classe(mensagem, **argumentos)


# --- Verificação de webhooks (Standard Webhooks) ---------------------------------------------------


def verificar_webhook(
    segredo: str,
    headers: Mapping[str, str],
    corpo: bytes | str,
    *,
    tolerancia: int = TOLERANCIA_WEBHOOK_SEGUNDOS,
) -> dict:
    """Confere a assinatura de uma entrega de webhook e devolve o evento (o JSON do corpo).

    Regras do Standard Webhooks (https://www.standardwebhooks.com/): a assinatura é o HMAC-SHA256, em
    base64, de `"{webhook-id}.{webhook-timestamp}.{corpo}"` com a chave `whsec_...` decodificada;
    `webhook-signature` traz uma ou mais entradas `v1,<assinatura>` separadas por espaço (durante a
    rotação de segredo, uma por segredo) e basta uma conferir. O `webhook-timestamp` precisa estar a
    no máximo `tolerancia` segundos (padrão 5 minutos) do relógio local, para um lado ou para o outro.
    Os nomes dos cabeçalhos valem em maiúsculas ou minúsculas.

    Args:
        segredo: o segredo do webhook (`whsec_...`), mostrado na criação ou na rotação.
        headers: os cabeçalhos da requisição (dict, `request.headers` do Flask/Django/etc.).
        corpo: o corpo exatamente como recebido (bytes); nunca um JSON decodificado e serializado de novo.

    Raises:
        AssinaturaInvalidaError: cabeçalho ausente, momento fora da tolerância, nenhuma assinatura
            confere, ou corpo que não é um objeto JSON.
        ValueError: o segredo não está no formato `whsec_` + base64 (erro de configuração).
    """
    chave = _chave_do_segredo(segredo)
    cabecalhos = {str(nome).lower(): valor for nome, valor in headers.items()}
    evento_id = _cabecalho_webhook(cabecalhos, "webhook-id")
    timestamp = _cabecalho_webhook(cabecalhos, "webhook-timestamp")
    assinaturas = _cabecalho_webhook(cabecalhos, "webhook-signature")
    _conferir_momento(timestamp, tolerancia)
    bruto = corpo.encode("utf-8") if isinstance(corpo, str) else bytes(corpo)
    esperada = hmac.new(chave, f"{evento_id}.{timestamp}.".encode() + bruto, hashlib.sha256).digest()
    # Every entry is compared (no early exit on format), each in constant time.
    confere = False
    for entrada in assinaturas.split():
        versao, _, valor = entrada.partition(",")
        if versao == "v1" and hmac.compare_digest(esperada, _base64(valor)):
            confere = True
    if not confere:
        raise AssinaturaInvalidaError("nenhuma assinatura v1 confere com o segredo")
    try:
        evento = json.loads(bruto)
    except ValueError as erro:
        raise AssinaturaInvalidaError("o corpo não é JSON") from erro
    if not isinstance(evento, dict):
        raise AssinaturaInvalidaError("o corpo não é um objeto JSON")
    return evento


def _chave_do_segredo(segredo: str) -> bytes:
    texto = segredo.strip() if isinstance(segredo, str) else ""
    texto = texto[len(PREFIXO_SEGREDO) :] if texto.startswith(PREFIXO_SEGREDO) else texto
    try:
        chave = base64.b64decode(texto + "=" * (-len(texto) % 4), validate=True)
    except (binascii.Error, ValueError):
        chave = b""
    if not chave:
        raise ValueError("segredo de webhook inválido: esperado 'whsec_' seguido de base64")
    return chave


def _cabecalho_webhook(cabecalhos: Mapping[str, Any], nome: str) -> str:
    valor = cabecalhos.get(nome)
    if not valor:
        raise AssinaturaInvalidaError(f"cabeçalho {nome} ausente")
    return str(valor).strip()


def _conferir_momento(timestamp: str, tolerancia: int) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise AssinaturaInvalidaError("cabeçalho webhook-timestamp inválido")
    diferenca = time.time() - int(timestamp)
    if diferenca > tolerancia:
        raise AssinaturaInvalidaError(f"webhook-timestamp antigo demais ({int(diferenca)} s)")
    if -diferenca > tolerancia:
        raise AssinaturaInvalidaError(f"webhook-timestamp no futuro ({int(-diferenca)} s)")


def _base64(valor: str) -> bytes:
    try:
        return base64.b64decode(valor, validate=True)
    except (binascii.Error, ValueError):
        return b""
