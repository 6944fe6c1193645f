"""Errors the domain raises for bad input, shared by every interface that reports them."""


class EntradaInvalida(ValueError):
    """A value the caller sent cannot be used; `campo` names it.

    The API answers 400 with the message under that field (`api.erros.tratar_excecao`), a command prints
    it; each area subclasses it so callers can still catch its own errors by name.
    """

    def __init__(self, campo: str, mensagem: str):
        super().__init__(mensagem)
        self.campo = campo
