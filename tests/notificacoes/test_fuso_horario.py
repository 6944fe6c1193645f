"""E-mails are rendered at send time in the organization's time zone (Organizacao.fuso_horario)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_nfe
from core.models import Organizacao, Origem

from .conftest import enviar_fila, html

NOITE_DE_31 = datetime(2026, 1, 31, 23, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))


@pytest.mark.django_db
@pytest.mark.parametrize(("fuso", "hora"), [("America/Sao_Paulo", "31/01/2026 23:30"),
                                            ("America/Manaus", "31/01/2026 22:30")])  # fmt: skip
def test_the_nfe_notice_shows_the_organizations_hour(org, dona, emissor, fuso, hora):
    # given
    Organizacao.objects.filter(pk=org.pk).update(fuso_horario=fuso)
    nfe = gerar_nfe(certificado=emissor, data_emissao=NOITE_DE_31)
    importar_bytes(organizacao=org, nome="n.xml", conteudo=nfe.xml, origem=Origem.UPLOAD)

    # when
    assert enviar_fila() == 1

    # then
    [email] = mail.outbox
    assert hora in email.body and hora in html(email)
    assert timezone.get_current_timezone_name() == "America/Sao_Paulo"  # the worker's zone is put back
