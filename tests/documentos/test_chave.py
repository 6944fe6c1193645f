import pytest

from core.documentos.chave import (
    ChaveInvalida,
    calcular_digito,
    decompor_chave,
    montar_chave,
    somente_documento,
    validar_cnpj,
    validar_cpf,
)

# Real authorised keys (from public sample documents; mod-11 check digit of the MOC NF-e chave de acesso);
# the last two have DV 0.
CHAVES_REAIS = [
    "29181201541910000144550010000150101383035997",
    "35200159594315000157550010000000012062777161",
    "35180174283375000142550010000234761182919182",
    "35170349607369000156550010000229481398694060",
    "53181011028793000173550010000066701204276800",
]


@pytest.mark.parametrize("chave", CHAVES_REAIS)
def test_it_accepts_real_keys(chave):
    assert calcular_digito(chave[:43]) == int(chave[43])
    assert decompor_chave(chave).chave == chave


def test_it_computes_a_zero_check_digit_when_the_remainder_is_below_two():
    assert calcular_digito("5318101102879300017355001000006670120427680") == 0


def test_it_splits_a_key_into_its_fields():
    partes = decompor_chave("35180174283375000142550010000234761182919182")

    assert partes.codigo_uf == "35"
    assert partes.uf == "SP"
    assert partes.ano_mes == "1801"
    assert partes.cnpj_emitente == "74283375000142"
    assert partes.modelo == "55"
    assert partes.serie == 1
    assert partes.numero == 23476
    assert partes.tipo_emissao == "1"
    assert partes.codigo_numerico == "18291918"
    assert partes.digito == 2


def test_it_accepts_an_alphanumeric_cnpj_key():
    chave = montar_chave("35", "2607", "12ABC34501DE35", "55", 1, 42, "1", "12345678")

    partes = decompor_chave(chave)

    assert partes.cnpj_emitente == "12ABC34501DE35"
    # Letters weigh ord(c) - 48 (NT Conjunta 2025.001): "A" counts 17, not 10.
    assert partes.digito == calcular_digito(chave[:43])


def test_it_builds_keys_for_cpf_emitters_left_padded():
    chave = montar_chave(35, "2601", "529.982.247-25", 55, 920, 1, 1, 1)

    assert chave[6:20] == "00052998224725"
    assert decompor_chave(chave).serie == 920


@pytest.mark.parametrize(
    "chave, mensagem",
    [
        ("3518017428337500014255001000023476118291918", "chave deve ter 44 caracteres, tem 43"),
        ("35180174283375000142550010000234761182919182X", "chave deve ter 44 caracteres, tem 45"),
        ("351801742833750001425500100002347611829191a2", "caracteres inválidos"),
        ("35180174283375000142550010000234A61182919182", "caracteres inválidos"),
        ("99180174283375000142550010000234761182919182", "UF 99 inválida"),
        ("35181374283375000142550010000234761182919182", "mês 13 inválido"),
        ("35180074283375000142550010000234761182919182", "mês 00 inválido"),
        ("35180174283375000142120010000234761182919182", "modelo 12 não é NF-e/CT-e"),
        ("35180174283375000142550010000000001182919182", "número do documento não pode ser zero"),
        (
            "35180174283375000142550010000234761182919187",
            "chave 35180174283375000142550010000234761182919187 tem dígito verificador 7, esperado 2",
        ),
    ],
)
def test_it_says_why_a_key_is_invalid(chave, mensagem):
    with pytest.raises(ChaveInvalida, match=mensagem):
        decompor_chave(chave)


def test_it_is_a_value_error():
    assert issubclass(ChaveInvalida, ValueError)


def test_montar_chave_refuses_fields_that_make_an_invalid_key():
    with pytest.raises(ChaveInvalida, match="UF 00 inválida"):
        montar_chave("00", "2601", "11222333000181", "55", 1, 1, "1", "1")


@pytest.mark.parametrize("cnpj", ["11222333000181", "74283375000142", "12ABC34501DE35", "XT9CDVWJ000172"])
def test_it_validates_numeric_and_alphanumeric_cnpj(cnpj):
    assert validar_cnpj(cnpj)


@pytest.mark.parametrize(
    "cnpj",
    ["11222333000182", "12ABC34501DE36", "12abc34501de35", "11.222.333/0001-81", "1122233300018", "00000000000000",
     "12ABC34501DEA5"],
)  # fmt: skip
def test_it_rejects_bad_cnpj(cnpj):
    assert not validar_cnpj(cnpj)


def test_it_validates_cpf():
    assert validar_cpf("52998224725")
    assert validar_cpf("68161525650")
    assert not validar_cpf("52998224726")
    assert not validar_cpf("11111111111")
    assert not validar_cpf("5299822472")


def test_somente_documento_strips_masks_and_upper_cases():
    assert somente_documento("11.222.333/0001-81") == "11222333000181"
    assert somente_documento(" 12.abc.345/01de-35 ") == "12ABC34501DE35"
    assert somente_documento("529.982.247-25") == "52998224725"
    assert validar_cnpj(somente_documento("12.abc.345/01de-35"))
