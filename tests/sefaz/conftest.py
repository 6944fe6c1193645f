# The API client fixtures, for the SEFAZ endpoints.
from tests.api.conftest import api, api_outra  # noqa: F401
