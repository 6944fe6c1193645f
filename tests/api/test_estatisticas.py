"""GET /api/estatisticas/: series, top emitters and routes, distributions; validation, auth, tenancy, queries."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.documentos.chave import CODIGO_POR_UF, digitos_cnpj, montar_chave
from core.geracao.documentos import gerar_cte, gerar_resumo_nfe

pytestmark = pytest.mark.django_db

MAXIMO_DE_CONSULTAS = 11  # token + membership + the nine aggregates
ALFA, BETA = "45723174000110", "11222333000181"
MARCO = {"inicio": "2026-03-01", "fim": "2026-03-05"}


def em(dia: date, hora: int = 12, minuto: int = 0, segundo: int = 0) -> datetime:
    return datetime.combine(dia, time(hora, minuto, segundo), tzinfo=timezone.get_default_timezone())


def resumo(numero: int, quando: datetime, valor: str, cnpj: str = ALFA, uf: str = "SP", nome: str = "ALFA LTDA",
           situacao: int = 1):  # fmt: skip
    chave = montar_chave(CODIGO_POR_UF[uf], quando.strftime("%y%m"), cnpj, "55", 1, numero, "1", numero)
    return gerar_resumo_nfe(chave=chave, emitente_cnpj=cnpj, nome=nome, valor=valor, data_emissao=quando,
                            situacao=situacao)  # fmt: skip


def cte(certificado, numero: int, quando: datetime, valor: str, uf_inicio: str = "SP", uf_fim: str = "RJ"):
    return gerar_cte(certificado=certificado, numero=numero, data_emissao=quando, valor_prestacao=Decimal(valor),
                     uf_inicio=uf_inicio, uf_fim=uf_fim)  # fmt: skip


def zero():
    return ponto(0, "0.00")


def qv(quantidade: int, valor: str) -> dict:
    return {"quantidade": quantidade, "valor": valor}


def ponto(quantidade: int, valor: str, ibs: str = "0.00", cbs: str = "0.00") -> dict:
    """A point of the series: documents without the reform group add nothing to the IBS and CBS sums."""
    return {"quantidade": quantidade, "valor": valor, "ibs": ibs, "cbs": cbs}


@pytest.fixture
def marco(org, outra_org, transportadora, importar_docs):
    """NF-e and CT-e of `org` in and around 2026-03-01..05 (local time), plus some of `outra_org`."""
    def d(dia):
        return date(2026, 3, dia)
    importar_docs(
        org,
        resumo(1, em(d(1), 0), "100.00"),
        resumo(2, em(d(1), 23, 59, 59), "50.50"),
        resumo(3, em(d(3)), "1000.00", cnpj=BETA, uf="PR", nome="BETA SA"),
        resumo(4, em(d(5), 23, 59, 59), "10.00", cnpj=BETA, uf="PR", nome="BETA SA", situacao=3),
        resumo(5, em(date(2026, 2, 28), 23, 59, 59), "7.00"),  # already March 1st in UTC
        resumo(6, em(d(6), 0), "8.00"),
        cte(transportadora, 11, em(d(1)), "300.00"),
        cte(transportadora, 12, em(d(2)), "200.00"),
        cte(transportadora, 13, em(d(5)), "600.00", uf_inicio="PR", uf_fim="SC"),
        cte(transportadora, 14, em(d(7)), "5.00"),
    )
    importar_docs(outra_org, resumo(21, em(d(1)), "9999.99", nome="DA OUTRA LTDA"),
                  cte(transportadora, 22, em(d(1)), "8888.88"))  # fmt: skip


def test_it_builds_a_daily_series_with_zeros_for_empty_days(api, marco):
    corpo = api.get("/api/estatisticas/", MARCO).json()

    assert (corpo["inicio"], corpo["fim"], corpo["agrupar"]) == ("2026-03-01", "2026-03-05", "dia")
    assert corpo["series"] == [
        {"periodo": "2026-03-01", "nfe": ponto(2, "150.50"), "cte": ponto(1, "300.00")},
        {"periodo": "2026-03-02", "nfe": zero(), "cte": ponto(1, "200.00")},
        {"periodo": "2026-03-03", "nfe": ponto(1, "1000.00"), "cte": zero()},
        {"periodo": "2026-03-04", "nfe": zero(), "cte": zero()},
        {"periodo": "2026-03-05", "nfe": ponto(1, "10.00"), "cte": ponto(1, "600.00")},
    ]


def test_it_builds_a_monthly_series_in_local_time(api, marco):
    corpo = api.get("/api/estatisticas/", {"inicio": "2026-01-15", "fim": "2026-03-31", "agrupar": "mes"}).json()

    assert corpo["series"] == [
        {"periodo": "2026-01-01", "nfe": zero(), "cte": zero()},
        {"periodo": "2026-02-01", "nfe": ponto(1, "7.00"), "cte": zero()},
        {"periodo": "2026-03-01", "nfe": ponto(5, "1168.50"), "cte": ponto(4, "1105.00")},
    ]


def test_it_ranks_emitters_and_routes_by_value(api, marco):
    corpo = api.get("/api/estatisticas/", MARCO).json()

    assert corpo["top_emitentes"] == [
        {"documento": BETA, "nome": "BETA SA", "quantidade": 2, "valor": "1010.00"},
        {"documento": ALFA, "nome": "ALFA LTDA", "quantidade": 2, "valor": "150.50"},
    ]
    assert corpo["top_rotas"] == [
        {"uf_inicio": "PR", "municipio_inicio": "CURITIBA", "uf_fim": "SC", "municipio_fim": "FLORIANOPOLIS",
         "quantidade": 1, "valor": "600.00"},
        {"uf_inicio": "SP", "municipio_inicio": "SAO PAULO", "uf_fim": "RJ", "municipio_fim": "RIO DE JANEIRO",
         "quantidade": 2, "valor": "500.00"},
    ]  # fmt: skip


def test_it_distributes_by_uf_and_situation(api, marco):
    corpo = api.get("/api/estatisticas/", MARCO).json()

    assert corpo["por_uf"] == {
        "nfe": [{"uf": "PR", **qv(2, "1010.00")}, {"uf": "SP", **qv(2, "150.50")}],
        "cte": [{"uf": "PR", **qv(1, "600.00")}, {"uf": "SP", **qv(2, "500.00")}],
    }
    assert corpo["por_situacao"] == {
        "nfe": [{"situacao": "resumo", **qv(3, "1150.50")}, {"situacao": "cancelada", **qv(1, "10.00")}],
        "cte": [{"situacao": "autorizada", **qv(3, "1100.00")}],
    }


def test_it_keeps_only_the_top_ten_emitters(api, org, importar_docs):
    cnpjs = [f"{n:012d}" + digitos_cnpj(f"{n:012d}") for n in range(1, 12)]
    importar_docs(org, *[resumo(n, em(date(2026, 3, 2)), f"{n}.00", cnpj=c) for n, c in enumerate(cnpjs, start=1)])

    emitentes = api.get("/api/estatisticas/", MARCO).json()["top_emitentes"]

    assert [e["documento"] for e in emitentes] == cnpjs[:0:-1]  # values 11.00 down to 2.00
    assert emitentes[0]["valor"] == "11.00"


def test_it_defaults_to_the_last_30_days_by_day(api, org, transportadora, importar_docs):
    hoje = timezone.localdate()
    importar_docs(
        org,
        resumo(1, em(hoje, 0), "1.00"),
        resumo(2, em(hoje - timedelta(days=29), 0), "2.00"),
        resumo(3, em(hoje - timedelta(days=30), 23, 59, 59), "4.00"),
    )

    corpo = api.get("/api/estatisticas/").json()

    assert (corpo["inicio"], corpo["fim"], corpo["agrupar"]) == (
        (hoje - timedelta(days=29)).isoformat(),
        hoje.isoformat(),
        "dia",
    )
    assert len(corpo["series"]) == 30
    assert corpo["series"][0]["nfe"] == ponto(1, "2.00") and corpo["series"][-1]["nfe"] == ponto(1, "1.00")
    assert corpo["por_situacao"]["nfe"] == [{"situacao": "resumo", **qv(2, "3.00")}]


def test_it_accepts_a_whole_leap_year_by_day(api):
    resposta = api.get("/api/estatisticas/", {"inicio": "2024-01-01", "fim": "2024-12-31"})
    assert resposta.status_code == 200
    assert len(resposta.json()["series"]) == 366


@pytest.mark.parametrize(
    "parametros, campo",
    [
        ({"inicio": "ontem"}, "inicio"),
        ({"fim": "2026-13-01"}, "fim"),
        ({"agrupar": "semana"}, "agrupar"),
        ({"inicio": "2026-03-05", "fim": "2026-03-01"}, "fim"),
        ({"inicio": "2025-01-01", "fim": "2026-01-02"}, "fim"),  # 367 days
        ({"inicio": "2016-01-01", "fim": "2026-01-01", "agrupar": "mes"}, "fim"),  # 121 months
        ({"inicio": "1800-01-01"}, "inicio"),
        ({"inicio": "2999-01-01"}, "inicio"),  # after the default fim (today)
    ],
)
def test_invalid_parameters_answer_400_naming_the_field(api, parametros, campo):
    resposta = api.get("/api/estatisticas/", parametros)
    assert resposta.status_code == 400
    corpo = resposta.json()
    assert corpo["erro"] == "Parâmetros inválidos." and list(corpo["detalhes"]) == [campo]


def test_it_requires_a_token(client, db):
    resposta = client.get("/api/estatisticas/")
    assert resposta.status_code == 401
    assert set(resposta.json()) == {"erro", "detalhes"}


def test_the_other_organization_sees_only_its_own_documents(api_outra, marco):
    corpo = api_outra.get("/api/estatisticas/", MARCO).json()

    assert corpo["series"][0] == {"periodo": "2026-03-01", "nfe": ponto(1, "9999.99"), "cte": ponto(1, "8888.88")}
    assert corpo["top_emitentes"] == [{"documento": ALFA, "nome": "DA OUTRA LTDA", "quantidade": 1, "valor": "9999.99"}]
    assert [r["quantidade"] for r in corpo["top_rotas"]] == [1]
    assert corpo["por_situacao"]["nfe"] == [{"situacao": "resumo", **qv(1, "9999.99")}]


@pytest.mark.parametrize("quantidade", [2, 20])
def test_it_runs_a_fixed_number_of_queries(api, org, transportadora, importar_docs, django_assert_max_num_queries,
                                           quantidade):  # fmt: skip
    dias = [date(2026, 3, 1) + timedelta(days=n % 5) for n in range(quantidade)]
    ufs = ["SP", "PR", "RJ", "MG"]
    importar_docs(org, *[resumo(n + 1, em(dia), "1.00", uf=ufs[n % 4]) for n, dia in enumerate(dias)])
    importar_docs(
        org, *[cte(transportadora, 100 + n, em(dia), "2.00", uf_fim=ufs[n % 4]) for n, dia in enumerate(dias)]
    )

    with django_assert_max_num_queries(MAXIMO_DE_CONSULTAS):
        corpo = api.get("/api/estatisticas/", MARCO).json()
    assert sum(p["nfe"]["quantidade"] + p["cte"]["quantidade"] for p in corpo["series"]) == 2 * quantidade
