"""Rollups of the documents (core.models.agregados): what they hold, the triggers that keep them, their upkeep
and how the dashboard, /totais/ and the statistics read them.

- definicoes.py: each rollup's source table, dimensions, sums and condition, the one description the rest uses.
- gatilhos.py: the PostgreSQL and SQLite triggers generated from it (migration 0019 installs them).
- manutencao.py: `compactar` (fold each key's delta rows into one) and `reconstruir` (from the documents).
- leitura.py: a date range as whole months plus edge days, and sums read in cents turned into reais.
"""
