"""What one import did, in a bounded form: counts per kind plus the first few items of each.

A 5,000-document import keeps 5,000 increments and a few dozen summaries in memory, never 5,000
documents. Each kind of item follows one preference, so a recipient's view is a filtered copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# kind of item -> the preference that decides whether a recipient hears about it
PREFERENCIA_DO_TIPO = {
    "nfe_importada": "nfe_importada",
    "cte_importado": "cte_importado",
    "nfe_atualizada": "nfe_importada",
    "cte_atualizado": "cte_importado",
    "erro_importacao": "erro_importacao",
}
# Kinds that have an e-mail of their own; an update is only ever counted in a digest.
TIPOS_INDIVIDUAIS = ("nfe_importada", "cte_importado", "erro_importacao")
ITENS_POR_TIPO = 20  # listed in a digest, per kind; the rest are only counted


@dataclass
class Grupo:
    quantidade: int = 0
    itens: list[dict] = field(default_factory=list)


@dataclass
class ResumoImportacao:
    """Counts and first items per kind; items are event summaries (`dados_do_documento`/`dados_do_erro`)."""

    grupos: dict[str, Grupo] = field(default_factory=lambda: {tipo: Grupo() for tipo in PREFERENCIA_DO_TIPO})
    itens_por_tipo: int = ITENS_POR_TIPO

    def adicionar(self, tipo: str, dados: dict) -> None:
        grupo = self.grupos[tipo]
        grupo.quantidade += 1
        if len(grupo.itens) < self.itens_por_tipo:
            grupo.itens.append(dados)

    def quantidade(self, tipo: str) -> int:
        return self.grupos[tipo].quantidade

    @property
    def total(self) -> int:
        return sum(g.quantidade for g in self.grupos.values())

    def para(self, preferencia) -> ResumoImportacao:
        """The part a recipient with `preferencia` (anything with `.quer(tipo)`) wants to hear about."""
        copia = ResumoImportacao(itens_por_tipo=self.itens_por_tipo)
        for tipo, grupo in self.grupos.items():
            if preferencia.quer(PREFERENCIA_DO_TIPO[tipo]):
                copia.grupos[tipo] = Grupo(grupo.quantidade, list(grupo.itens))
        return copia

    def individuais(self) -> list[tuple[str, dict]]:
        """(kind, item) of everything that has an e-mail of its own, when few enough to list them all."""
        return [(tipo, item) for tipo in TIPOS_INDIVIDUAIS for item in self.grupos[tipo].itens]
