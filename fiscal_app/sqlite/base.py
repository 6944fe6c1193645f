"""Django's SQLite backend, told how many bound variables the linked SQLite really accepts.

Django assumes 999 per statement (the limit before SQLite 3.32), so a bulk insert of wide rows splits into
many statements: an NF-e row has about 60 columns, so 16 rows per INSERT. SQLite 3.32 and later accept
32,766 by default (https://www.sqlite.org/limits.html, "Maximum Number Of Host Parameters"); the limit of
the library Python links is read once, and everything else is Django's backend unchanged.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features


def _limite_de_variaveis() -> int:
    conexao = sqlite3.connect(":memory:")
    try:
        return conexao.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        conexao.close()


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = _limite_de_variaveis()


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
