"""The linter's verdict is part of the suite: `make test` runs `ruff check .` first, and this keeps a
plain `pytest` run (the PostgreSQL pass of .ci/run) from missing it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).with_name("ruff")
    executavel = str(ruff) if ruff.exists() else shutil.which("ruff")
    if executavel is None:
        pytest.skip("ruff não instalado (make test o instala de requirements.txt)")
    resultado = subprocess.run([executavel, "check", "--no-cache", "."], cwd=RAIZ, capture_output=True, text=True)
    assert resultado.returncode == 0, resultado.stdout + resultado.stderr


def test_make_test_runs_the_linter_before_the_suite():
    alvo = (RAIZ / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    comandos = [linha.strip() for linha in alvo.splitlines()[1:]]
    assert comandos[0] == "$(BIN)/ruff check ." and "pytest" in comandos[-1]
