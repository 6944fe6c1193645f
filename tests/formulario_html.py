"""What a browser would submit for a form of a rendered page: tests POST an old page as a person would."""

from html.parser import HTMLParser


class _Formulario(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.dentro, self.dados = form_id, False, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.dentro = a.get("id") == self.form_id
        if not self.dentro or "disabled" in a:
            return
        if tag == "input":
            self._input(a)
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._somar(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self._somar(self._textarea, "")

    def _input(self, a):
        tipo, nome = a.get("type", "text"), a.get("name")
        if not nome or tipo in ("submit", "button", "file", "image", "reset"):
            return
        if tipo in ("checkbox", "radio") and "checked" not in a:
            return
        self._somar(nome, a.get("value", "on" if tipo in ("checkbox", "radio") else ""))

    def handle_data(self, data):
        if self._textarea:
            self.dados[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.dentro = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            valor = self.dados[self._textarea][-1]
            self.dados[self._textarea][-1] = valor[1:] if valor.startswith("\n") else valor  # as browsers do
            self._textarea = None

    def _somar(self, nome, valor):
        self.dados.setdefault(nome, []).append(valor)


def dados_do_formulario(html: str, form_id: str) -> dict[str, list[str]]:
    """Every successful control of the form `form_id` as the browser sends it (name -> values)."""
    leitor = _Formulario(form_id)
    leitor.feed(html)
    return leitor.dados
