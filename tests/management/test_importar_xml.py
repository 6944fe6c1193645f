import pytest
from django.core.management import CommandError, call_command

from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_lote_zip, gerar_nfe
from core.models import CTe, EventoDocumento, ImportLog, NFe
from core.tenancy import escopo

pytestmark = pytest.mark.django_db


@pytest.fixture
def pasta(tmp_path, emissor, transportadora):
    """A customer's folder: nested folders, a ZIP, an event, and files that are not fiscal XML."""
    nfes = [gerar_nfe(certificado=emissor, numero=n) for n in range(1, 6)]
    (tmp_path / "2026" / "11").mkdir(parents=True)
    for documento in nfes[:3]:
        (tmp_path / "2026" / "11" / f"{documento.chave}.xml").write_bytes(documento.xml)
    (tmp_path / "lote.ZIP").write_bytes(gerar_lote_zip(nfes[3:] + [gerar_cte(certificado=transportadora)]))
    evento = gerar_evento_nfe(certificado=emissor, chave=nfes[0].chave, tipo_evento="110110", detalhes={"xCorrecao": "x" * 20})
    (tmp_path / "cce.xml").write_bytes(evento.xml)
    (tmp_path / "danfe.pdf").write_bytes(b"%PDF-1.4 not an xml")
    return tmp_path


def test_it_imports_folders_recursively_with_a_summary(org, pasta, capsys):
    call_command("importar_xml", str(pasta), "--organizacao", org.slug)

    saida = capsys.readouterr()
    assert saida.out.strip().splitlines()[-1] == "importados: 7, duplicados: 0, erros: 0"
    assert "arq" in saida.err  # the progress bar
    assert escopo(NFe, org).count() == 5 and escopo(CTe, org).count() == 1
    assert escopo(EventoDocumento, org).get().nfe is not None
    assert set(escopo(ImportLog, org).values_list("origem", flat=True)) == {"pasta"}


def test_running_it_twice_reports_duplicates(org, pasta, capsys):
    call_command("importar_xml", str(pasta), "--organizacao", org.slug, "--sem-progresso")
    call_command("importar_xml", str(pasta), "--organizacao", org.slug, "--sem-progresso")
    assert capsys.readouterr().out.strip().splitlines()[-1] == "importados: 0, duplicados: 7, erros: 0"
    assert escopo(NFe, org).count() == 5


def test_errors_name_the_file_and_fail_the_command(org, pasta, capsys):
    ruim = pasta / "2026" / "quebrado.xml"
    ruim.write_bytes(b"<nfeProc")

    with pytest.raises(CommandError, match="1 documento"):
        call_command("importar_xml", str(pasta), "--organizacao", org.slug, "--sem-progresso")

    saida = capsys.readouterr()
    assert f"ERRO {ruim}: " in saida.err
    assert saida.out.strip().splitlines()[-1] == "importados: 7, duplicados: 0, erros: 1"
    assert escopo(ImportLog, org).get(status="erro").arquivo == str(ruim)


def test_a_file_named_explicitly_is_tried_whatever_its_extension(org, pasta, capsys):
    with pytest.raises(CommandError):
        call_command("importar_xml", str(pasta / "danfe.pdf"), "--organizacao", org.slug, "--sem-progresso")
    assert "danfe.pdf" in capsys.readouterr().err


def test_unknown_organization_or_path(org, pasta):
    with pytest.raises(CommandError, match="organização 'nao-existe' não encontrada"):
        call_command("importar_xml", str(pasta), "--organizacao", "nao-existe")
    with pytest.raises(CommandError, match="nao-existe.xml: arquivo ou pasta não encontrado"):
        call_command("importar_xml", str(pasta / "nao-existe.xml"), "--organizacao", org.slug)
