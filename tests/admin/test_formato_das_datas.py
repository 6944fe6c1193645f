"""Every admin list and page writes dates as the documents do (31/01/2026 23:30), not Django's pt-BR
long form ("31 de janeiro de 2026 às 23:30"): fiscal_app/formatos/pt_BR."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse
from lxml import html

from core.models import Membro


def test_a_plain_date_column_reads_as_day_month_year_and_time(membro, org):
    instante = datetime(2026, 1, 31, 23, 30, tzinfo=ZoneInfo("America/Sao_Paulo"))
    Membro.objects.filter(organizacao=org).update(criado_em=instante)

    resposta = membro.get(reverse("admin:core_membro_changelist"))

    assert resposta.status_code == 200
    linhas = html.fromstring(resposta.content.decode()).xpath('//table[@id="result_list"]/tbody/tr')
    texto = " ".join(" ".join(linhas[0].itertext()).split())
    assert "31/01/2026 23:30" in texto
    assert "janeiro" not in texto
