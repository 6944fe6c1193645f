"""Re-encrypting every stored secret with the current key, the middle step of a key rotation.

Rotation (README, "Chaves de criptografia"): put the new key first in FIELD_ENCRYPTION_KEY, keep the
old ones after it, run `recifrar_segredos`, then drop the old keys. Every `CampoCifrado` column of
every model is covered, so a secret added later is rotated without touching this module.

Each value is swapped by compare-and-swap on the stored token: a value changed meanwhile (a webhook
secret rotated during the run) was written with the current key already and is left alone. Values
already under the current key are skipped, so running it again does nothing (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import TextField, Value
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from core.cripto import CampoCifrado, CifraInvalida, na_chave_atual, recifrar
from core.models import DaOrganizacao
from core.tenancy import todas_as_organizacoes

logger = logging.getLogger(__name__)

LOTE = 200


@dataclass
class ResumoDaRecifragem:
    recifrados: int = 0
    ja_na_chave_atual: int = 0
    alterados_durante: int = 0
    ilegiveis: list[str] = field(default_factory=list)  # "core.webhook#3.segredo": no configured key opens it

    def __str__(self) -> str:
        return (
            f"recifrados: {self.recifrados}, já na chave atual: {self.ja_na_chave_atual}, "
            f"alterados durante a execução: {self.alterados_durante}, ilegíveis: {len(self.ilegiveis)}"
        )


def campos_cifrados() -> list[tuple[type, list[str]]]:
    """(model, [names of its CampoCifrado fields]) for every installed model that has one."""
    encontrados = []
    for modelo in apps.get_models():
        nomes = [f.name for f in modelo._meta.concrete_fields if isinstance(f, CampoCifrado)]
        if nomes:
            encontrados.append((modelo, nomes))
    return encontrados


def linhas_com_segredos() -> int:
    """How many rows `recifrar_segredos` will visit (for a progress bar)."""
    return sum(_todas(modelo).count() for modelo, _ in campos_cifrados())


def recifrar_segredos(*, dry_run: bool = False, ao_avancar: Callable[[int], None] | None = None) -> ResumoDaRecifragem:
    """Re-encrypt every secret not yet under the current key; `dry_run` only counts them."""
    resumo = ResumoDaRecifragem()
    for modelo, nomes in campos_cifrados():
        for pk, tokens in _em_lotes(modelo, nomes):
            for nome, token in zip(nomes, tokens, strict=True):
                _recifrar_um(modelo, pk, nome, token, dry_run, resumo)
            if ao_avancar:
                ao_avancar(1)
    logger.info("recifragem%s concluída: %s", " (simulação)" if dry_run else "", resumo)
    return resumo


def _recifrar_um(modelo, pk, nome: str, token: str | None, dry_run: bool, resumo: ResumoDaRecifragem) -> None:
    if token is None:
        return
    if na_chave_atual(token):
        resumo.ja_na_chave_atual += 1
        return
    try:
        novo = recifrar(token)
    except CifraInvalida:
        # Only where it is, never the value: the operator restores the missing key and runs again.
        resumo.ilegiveis.append(f"{modelo._meta.label_lower}#{pk}.{nome}")
        return
    if dry_run:
        resumo.recifrados += 1
        return
    trocados = _todas(modelo).filter(Exact(Cast(nome, TextField()), token), pk=pk).update(
        **{nome: Value(novo, output_field=TextField())}  # a raw token: bypasses CampoCifrado's encryption
    )
    if trocados:
        resumo.recifrados += 1
    else:
        resumo.alterados_durante += 1


def _em_lotes(modelo, nomes: list[str]):
    """(pk, [stored tokens]) of every row, in pk order, a slice at a time (memory stays flat)."""
    brutos = {f"_bruto_{nome}": Cast(nome, TextField()) for nome in nomes}  # the token, not decrypted
    linhas = _todas(modelo).annotate(**brutos).order_by("pk")
    ultimo = None
    while True:
        fatia = linhas if ultimo is None else linhas.filter(pk__gt=ultimo)
        lote = list(fatia.values_list("pk", *brutos)[:LOTE])
        if not lote:
            return
        for pk, *tokens in lote:
            yield pk, tokens
        ultimo = lote[-1][0]


def _todas(modelo):
    # A system command, like the webhook worker: it walks every organization on purpose.
    if issubclass(modelo, DaOrganizacao):
        return todas_as_organizacoes(modelo)
    return modelo._default_manager.all()
