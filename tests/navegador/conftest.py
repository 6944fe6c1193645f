"""Headless Chromium against a live server: one browser and one server per session, data per module.

The browser and its driver are Debian's (`chromium`, `chromium-driver`; .ci/run installs them) and are
given to Selenium by path, so Selenium Manager never downloads one. Without them the tests skip.

pytest-django's `live_server` fixture turns every test that uses it into a transactional one, flushed at
its end, so the documents would be made again for every page. The server here is the same class
(pytest_django.live_server_helper.LiveServer), one per session like `live_server`, and a module's data
is committed once (`banco_do_modulo`) and flushed when the module ends, as TransactionTestCase does after
each test. That flush also empties what the migrations wrote, so these tests run last (pytest-django
already puts transactional tests after the others for the same reason). A module marks its tests
`django_db`, which is what makes pytest-django create the test database; each test's own transaction
is rolled back as usual, and the server thread sees the committed data (on SQLite in memory it shares
the test's connection, as under `live_server`).
"""

import base64
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client

LARGURA, ALTURA = 1366, 768
CAPTURAS = Path(__file__).resolve().parents[2] / "var" / "capturas"
SEM_CHROMIUM = "precisa do Chromium e do chromedriver do Debian (apt-get install chromium chromium-driver; o .ci/run instala)"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    aqui = Path(__file__).parent
    navegador = [item for item in items if aqui in item.path.parents]
    items[:] = [item for item in items if aqui not in item.path.parents] + navegador


@pytest.fixture(scope="session")
def servidor(django_db_setup):
    """The live server of the browser tests; stopped after the browser quits (see `navegador`)."""
    from pytest_django.live_server_helper import LiveServer

    servidor = LiveServer("localhost")
    yield servidor
    # Chrome's keep-alive sockets keep a request thread each; once the browser has quit they end, and
    # each closes its database connection. Wait for them: after stop() the SQLite connection they share
    # with this thread may no longer be used from another thread.
    for hilo in threading.enumerate():
        if hilo.name.endswith("(process_request_thread)"):
            hilo.join(timeout=10)
    servidor.stop()


@pytest.fixture(scope="session")
def navegador(servidor):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip(SEM_CHROMIUM)
    webdriver = pytest.importorskip("selenium.webdriver", reason="precisa do selenium (requirements.txt)")
    from selenium.webdriver.chrome.service import Service

    opcoes = webdriver.ChromeOptions()
    opcoes.binary_location = chromium
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    for argumento in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                      "--no-first-run", "--lang=pt-BR", f"--window-size={LARGURA},{ALTURA}"):  # fmt: skip
        opcoes.add_argument(argumento)
    opcoes.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A driver path in Service is what keeps Selenium Manager (which would download a driver) out.
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=opcoes)
    chrome.set_page_load_timeout(30)  # a stuck page fails its test instead of waiting Selenium's 5 minutes
    # The viewport itself, not the window around it: the 1366 px the fiscal team's laptops show.
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": LARGURA, "height": ALTURA, "deviceScaleFactor": 1, "mobile": False}
    )
    yield chrome
    chrome.quit()


@pytest.fixture(scope="module")
def banco_do_modulo(django_db_setup, django_db_blocker):
    """Database access while a module's data is made and its tests run; the data is committed (the
    server's thread must see it on PostgreSQL) and flushed when the module ends."""
    with django_db_blocker.unblock():
        yield
        for alias in connections:
            call_command("flush", verbosity=0, interactive=False, database=alias)


JS_CABECALHOS = """
return Array.from(document.querySelectorAll('#result_list thead th')).map(th => {
  let visivel = document.documentElement.clientWidth;
  for (let caixa = th.parentElement; caixa; caixa = caixa.parentElement) {
    if (getComputedStyle(caixa).overflowX !== 'visible') {
      visivel = Math.min(visivel, caixa.getBoundingClientRect().left + caixa.clientLeft + caixa.clientWidth);
    }
  }
  return [th.innerText.trim(), th.getBoundingClientRect().right, visivel];
});
"""


@dataclass
class Pagina:
    """One page as the browser showed it: its text, and the console entries logged while it loaded."""

    nome: str
    texto: str
    captura: Path
    console: list[dict] = field(default_factory=list)


class Admin:
    """The browser signed in as one user, opening admin pages and keeping a screenshot of each."""

    def __init__(self, navegador, servidor):
        self.navegador, self.servidor = navegador, servidor

    def entrar(self, usuario):
        cliente = Client()
        cliente.force_login(usuario)
        # A cookie can only be set for the page's own origin: open a page of the server first.
        self.navegador.get(self.servidor.url + "/admin/login/")
        self.navegador.delete_all_cookies()
        self.navegador.add_cookie(
            {"name": settings.SESSION_COOKIE_NAME, "value": cliente.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
        )
        self.navegador.get_log("browser")  # drop what the login page logged

    def abrir(self, caminho: str, nome: str) -> Pagina:
        self.navegador.get(self.servidor.url + caminho)
        CAPTURAS.mkdir(parents=True, exist_ok=True)
        captura = CAPTURAS / f"{nome}.png"
        self.navegador.save_screenshot(str(captura))  # what the 1366x768 screen shows
        self.pagina_inteira(CAPTURAS / f"{nome}-inteira.png")
        print(f"captura de tela: {captura} (e a página inteira: {nome}-inteira.png)")
        texto = self.navegador.find_element("tag name", "body").text
        return Pagina(nome, texto, captura, self.navegador.get_log("browser"))

    def pagina_inteira(self, arquivo: Path) -> None:
        altura = self.navegador.execute_script("return document.documentElement.scrollHeight")
        imagem = self.navegador.execute_cdp_cmd("Page.captureScreenshot", {
            "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": LARGURA, "height": altura, "scale": 1},
        })  # fmt: skip
        arquivo.write_bytes(base64.b64decode(imagem["data"]))

    def cabecalhos_da_lista(self) -> list[tuple[str, float, float]]:
        """(text, right edge, right edge of the area that shows it) of each column header of a changelist,
        in CSS pixels of the viewport. The admin puts the table in a box that scrolls sideways: a column
        past that box's edge is hidden even when it is left of the window's."""
        return [tuple(c) for c in self.navegador.execute_script(JS_CABECALHOS)]  # fmt: skip

    def largura_da_janela(self) -> int:
        """The viewport's width in CSS pixels (with its vertical scrollbar)."""
        return self.navegador.execute_script("return window.innerWidth")

    def botoes(self) -> set[str]:
        """The labels of the page's visible links, buttons and submit inputs, as written in the page
        (textContent: the admin's CSS shows some in capitals)."""
        return set(self.navegador.execute_script(
            "return Array.from(document.querySelectorAll('a, button, input[type=submit], input[type=button]'))"
            "  .filter(e => e.offsetParent !== null)"
            "  .map(e => (e.tagName === 'INPUT' ? e.value : e.textContent).replace(/\\s+/g, ' ').trim())"
        ))  # fmt: skip


def erros_no_console(pagina: Pagina) -> list[str]:
    return [entrada["message"] for entrada in pagina.console if entrada["level"] == "SEVERE"]
