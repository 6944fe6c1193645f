"""The client installs with pip from the repository (issue 15, point 3): `pip install .` at the root
installs fiscal_api_client, with its version, depending on requests and nothing else."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parents[2]


def test_pip_install_of_the_repository_installs_the_client_with_only_requests(tmp_path):
    # given: what the build reads, copied (an in-tree build would leave build/ in the working tree)
    fonte = tmp_path / "fiscal"
    fonte.mkdir()
    for nome in ("pyproject.toml", "fiscal_api_client.py", "INTEGRACOES.md"):
        shutil.copy(RAIZ / nome, fonte / nome)
    ambiente = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(ambiente)], check=True)
    python = ambiente / "bin" / "python"

    # when
    instalacao = subprocess.run([str(python), "-m", "pip", "install", "-q", str(fonte)], capture_output=True, text=True,
                                timeout=120, check=False)  # fmt: skip

    # then: importable outside the repository, the same version as the module's, requests its only requirement
    assert instalacao.returncode == 0, instalacao.stderr
    codigo = (
        "import fiscal_api_client as c, importlib.metadata as m; print(c.__version__); "
        "print(m.version('fiscal-api-client')); print(m.requires('fiscal-api-client')); print(c.__file__)"
    )
    versao, instalada, requisitos, arquivo = subprocess.run(
        [str(python), "-c", codigo], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    import fiscal_api_client

    assert versao == instalada == fiscal_api_client.__version__
    assert [r.split(">")[0].split("=")[0].strip() for r in ast.literal_eval(requisitos)] == ["requests"]
    assert str(ambiente) in arquivo
