"""Settings of the test suite (pytest.ini) and the benchmarks: the production ones, with the development keys.

pytest-django runs the tests with DEBUG off, and a fresh checkout has no keys, which the settings refuse
outside development (fail closed). This turns on FISCAL_CHAVE_DE_DESENVOLVIMENTO in the environment
before they load, for this process and every process a test starts (manage.py, gunicorn, examples).
Tests of the production start remove it (tests/test_configuracao_fechada.py).
"""

import os

os.environ["FISCAL_CHAVE_DE_DESENVOLVIMENTO"] = "true"

from fiscal_app.settings import *  # noqa: F403
