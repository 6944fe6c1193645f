"""Writing the e-mail queue: `EnvioEmail` rows, always in the transaction of what they tell.

- `enfileirar_emails_dos_eventos` is a consumer of the event outbox (core/eventos/consumidores.py):
  for the events just recorded it writes one row per recipient who wants them. A document event
  recorded inside an import (`Evento.lote`) gets no row of its own: the import's digest tells it.
- `enfileirar_resumo_de_importacao` runs when an import ends (`agrupamento.notificacoes_agrupadas`):
  per recipient, the few things they want as individual e-mails (at most
  FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL), or else one digest row that is rendered, when sent, from
  the import's stored events.
- An import whose end never comes (its process died between batches) is not forgotten: its first
  committed batch also wrote a mark, one recipient-less row of the lote due GRACA_DA_IMPORTACAO later,
  which the end deletes. A mark the sender finds due is an import that died: `retomar_importacao`
  queues, from the events its committed batches stored, what its end would have.
- `enfileirar` is what the other notices use (daily summary, capture problem, SEFAZ run).

Nothing here sends: core/notifications/envio.py does, outside any transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import router, transaction
from django.db.models import Count
from django.db.models.fields.json import KT
from django.utils import timezone

from core.models import EnvioEmail, Evento, Organizacao, TipoDeEmail
from core.tenancy import escopo, inserir

from .preferencias import Destinatario, destinatarios
from .resumo import PREFERENCIA_DO_TIPO, TIPOS_INDIVIDUAIS

# Longer than any pause between two batches of one import (a batch, the SEFAZ call between two pages): a
# mark still due while its import lives would send a partial digest. A dead import's e-mails wait this long.
GRACA_DA_IMPORTACAO = timedelta(minutes=10)
TIPOS_DE_DOCUMENTO = ("nfe_importada", "cte_importado", "documento_atualizado", "erro_importacao")
# Events that are e-mailed one by one, and the preference each follows (None: every member, always).
_INDIVIDUAIS = {
    "nfe_importada": "nfe_importada",
    "cte_importado": "cte_importado",
    "erro_importacao": "erro_importacao",
    "certificado_vencendo": "certificado_vencendo",
    "webhook_desativado": "webhook_desativado",
}


def enfileirar(
    organizacao: Organizacao,
    tipo: str,
    chave: str,
    usuarios: Iterable = (),
    *,
    enderecos: Iterable[str] = (),
    evento: str = "",
    lote: str = "",
    dados: dict | None = None,
) -> int:
    """Queue one `tipo` e-mail about `chave` per user (and per plain address); how many were offered.

    A (subject, recipient, kind) already queued is skipped by the unique constraints (ON CONFLICT DO
    NOTHING), so a retried task or a second run cannot queue the same e-mail twice.
    """
    agora = timezone.now()
    comuns = {"organizacao": organizacao, "tipo": tipo, "chave": chave[:80], "evento": evento, "lote": lote,
              "dados": dados or {}, "proxima_tentativa_em": agora}  # fmt: skip
    linhas = [EnvioEmail(usuario=usuario, **comuns) for usuario in usuarios]
    linhas += [EnvioEmail(endereco=endereco, **comuns) for endereco in enderecos]
    if not linhas:
        return 0
    inserir(EnvioEmail, organizacao, linhas, ignorar_conflitos=True)
    return len(linhas)


# --- The event outbox consumer ---------------------------------------------------------------------


def enfileirar_emails_dos_eventos(eventos: list[Evento]) -> None:
    """Consumer of `registrar_eventos`: the rows of the events just inserted, in their transaction."""
    por_organizacao, lotes = defaultdict(list), {}
    for evento in eventos:
        if evento.tipo in TIPOS_DE_DOCUMENTO and evento.lote:
            lotes[(evento.organizacao_id, evento.lote)] = evento.organizacao
        if _tem_email(evento):
            por_organizacao[evento.organizacao_id].append(evento)
    for (_, lote), organizacao in lotes.items():
        _marcar_importacao(organizacao, lote)
    for eventos_da_org in por_organizacao.values():
        _da_organizacao(eventos_da_org[0].organizacao, eventos_da_org)


def _tem_email(evento: Evento) -> bool:
    if evento.tipo in TIPOS_DE_DOCUMENTO and evento.lote:
        return False  # told by the digest of its import
    return evento.tipo in _INDIVIDUAIS or evento.tipo == "manifestacao_pendente"


def _da_organizacao(organizacao: Organizacao, eventos: list[Evento]) -> None:
    pessoas = destinatarios(organizacao)  # two queries for the whole batch
    prazos = [e for e in eventos if e.tipo == "manifestacao_pendente"]
    if prazos:
        # One e-mail per batch of NF-e to every member: a missed deadline is a fiscal fault, not an opt-in.
        enfileirar(organizacao, TipoDeEmail.PRAZO_MANIFESTACAO, prazos[0].id, [p.usuario for p in pessoas],
                   evento=prazos[0].id, dados={"eventos": [e.id for e in prazos]})  # fmt: skip
    for evento in eventos:
        preferencia = _INDIVIDUAIS.get(evento.tipo)
        if preferencia is not None:
            usuarios = [p.usuario for p in pessoas if p.quer(preferencia)]
            enfileirar(organizacao, evento.tipo, evento.id, usuarios, evento=evento.id)


# --- The digest of an import -----------------------------------------------------------------------


def _marcar_importacao(organizacao: Organizacao, lote: str) -> None:
    """The import `lote` is committing documents: should its end never come, its e-mails are queued anyway.

    One INSERT per batch, a no-op after the first (the unique constraint, ON CONFLICT DO NOTHING), so the
    worker processes of a parallel folder import need not know which of them came first.
    """
    marca = EnvioEmail(organizacao=organizacao, tipo=TipoDeEmail.RESUMO_IMPORTACAO, chave=lote[:80], lote=lote,
                       proxima_tentativa_em=timezone.now() + GRACA_DA_IMPORTACAO)  # fmt: skip
    inserir(EnvioEmail, organizacao, [marca], ignorar_conflitos=True)


def marca_de_importacao(envio: EnvioEmail) -> bool:
    """Is this row the mark of an import (no recipient), not an e-mail?"""
    return envio.tipo == TipoDeEmail.RESUMO_IMPORTACAO and not envio.usuario_id and not envio.endereco


def retomar_importacao(envio: EnvioEmail) -> bool:
    """A claimed mark came due: queue its import's e-mails now, unless the import still records events.

    Still alive (its last event younger than GRACA_DA_IMPORTACAO): the mark goes back, due that long after
    the last event. Else the import died before its end: what the end would have queued is queued now,
    from the events its committed batches stored, and the mark goes, in one short transaction guarded by
    the claim (an end that ran meanwhile already deleted it: nothing is queued twice). True when queued.
    """
    organizacao, agora = envio.organizacao, timezone.now()
    reivindicada = escopo(EnvioEmail, organizacao).filter(
        pk=envio.pk, status=EnvioEmail.Status.ENVIANDO, lease_expira_em=envio.lease_expira_em
    )
    ultimo = eventos_do_lote(organizacao, envio.lote).order_by("-id").values_list("criado_em", flat=True).first()
    if ultimo is not None and ultimo + GRACA_DA_IMPORTACAO > agora:
        reivindicada.update(status=EnvioEmail.Status.PENDENTE, lease_expira_em=None, atualizado_em=agora,
                            proxima_tentativa_em=ultimo + GRACA_DA_IMPORTACAO)  # fmt: skip
        return False
    with transaction.atomic(using=router.db_for_write(EnvioEmail)):
        if not reivindicada._raw_delete(reivindicada.db):
            return False
        _resumo_de_importacao(organizacao, envio.lote)
    return True


def enfileirar_resumo_de_importacao(organizacao: Organizacao, lote: str) -> int:
    """Queue what the import `lote` tells each recipient, in one INSERT; how many rows were offered.

    The end of the import: its mark goes too (in the same transaction, when there is one).
    """
    quantos = _resumo_de_importacao(organizacao, lote)
    if quantos is not None:  # the import recorded documents: its batches wrote a mark
        _marcas(organizacao, lote)._raw_delete(router.db_for_write(EnvioEmail))
    return quantos or 0


def _marcas(organizacao: Organizacao, lote: str):
    return escopo(EnvioEmail, organizacao).filter(
        tipo=TipoDeEmail.RESUMO_IMPORTACAO, chave=lote[:80], usuario__isnull=True, endereco=""
    )


def _resumo_de_importacao(organizacao: Organizacao, lote: str) -> int | None:
    """The recipients' rows of the import `lote`; None when it recorded no document at all."""
    contagens = contagens_do_lote(organizacao, lote)
    if not contagens:
        return None
    limite, agora, linhas = settings.FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL, timezone.now(), []
    for pessoa in destinatarios(organizacao):
        visiveis = sum(n for tipo, n in contagens.items() if pessoa.quer(PREFERENCIA_DO_TIPO[tipo]))
        if not visiveis:
            continue
        if visiveis > limite:
            linhas.append(EnvioEmail(organizacao=organizacao, tipo=TipoDeEmail.RESUMO_IMPORTACAO, chave=lote,
                                     lote=lote, usuario=pessoa.usuario, proxima_tentativa_em=agora))  # fmt: skip
            continue
        for evento in _individuais_do_lote(organizacao, lote, pessoa):
            linhas.append(EnvioEmail(organizacao=organizacao, tipo=evento.tipo, chave=evento.id, evento=evento.id,
                                     usuario=pessoa.usuario, proxima_tentativa_em=agora))  # fmt: skip
    inserir(EnvioEmail, organizacao, linhas, ignorar_conflitos=True)  # one statement: all or nothing
    return len(linhas)


def contagens_do_lote(organizacao: Organizacao, lote: str) -> Counter:
    """{notification kind: events} of an import: one grouped query, whatever its size."""
    linhas = (
        eventos_do_lote(organizacao, lote)
        .values("tipo", modelo=KT("payload__dados__modelo"))
        .annotate(quantos=Count("pk"))
        .order_by()
    )
    contagens = Counter()
    for linha in linhas:
        contagens[tipo_do_evento(linha["tipo"], {"modelo": linha["modelo"]})] += linha["quantos"]
    return contagens


def eventos_do_lote(organizacao: Organizacao, lote: str):
    return escopo(Evento, organizacao).filter(lote=lote, tipo__in=TIPOS_DE_DOCUMENTO)


def _individuais_do_lote(organizacao: Organizacao, lote: str, pessoa: Destinatario) -> list[Evento]:
    # At most FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL rows: the caller counted them.
    tipos = [tipo for tipo in TIPOS_INDIVIDUAIS if pessoa.quer(PREFERENCIA_DO_TIPO[tipo])]
    return list(eventos_do_lote(organizacao, lote).filter(tipo__in=tipos).only("id", "tipo").order_by("id"))


def tipo_do_evento(tipo: str, dados: dict) -> str:
    """The notification kind of a document event (an update is told apart by its model)."""
    if tipo != "documento_atualizado":
        return tipo
    return "cte_atualizado" if str(dados.get("modelo")) in ("57", "67") else "nfe_atualizada"
