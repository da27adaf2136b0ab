"""Secrets never leave the process: one ``redact(text)`` for every message, and a logging guard.

What is a secret (read at every call, so keys set after import count):

* the value of every environment variable whose name is ``COINGECKO_API_KEY`` or matches
  ``*_API_KEY``, ``*_SECRET``, ``*_SECRET_*``, ``*_TOKEN`` or ``*PASSWORD*`` (any case), plus values
  passed to :func:`register_secret` (a key given to a client as an argument). Values shorter than
  :data:`MIN_SECRET_LENGTH` characters are not matched as text (they would mangle ordinary words;
  they are still removed from URLs by the rules below). The percent-encoded forms of each value
  (as they appear in a URL) are replaced too;
* whatever follows a key-bearing query or JSON parameter (``x_cg_demo_api_key``,
  ``x_cg_pro_api_key``, ``api_key``, ``apikey``, ``access_token``, ``token``, ``secret``,
  ``password``, ...) in ``name=value`` or ``"name": "value"`` form, and the value of the
  ``x-cg-demo-api-key`` / ``x-cg-pro-api-key`` headers, whether or not the value is configured;
* the password of a URL with credentials (``postgresql://user:PASSWORD@host``).

Each is replaced by ``***`` (:data:`MASK`).

Where it is applied:

* the sources call :func:`redact` on every message they raise or log (exception texts, progress
  lines, failure reasons that end up in check and materialisation metadata);
* :func:`install_redaction` (idempotent; call it once at process start: the CLI's ``main`` and the
  definitions' import) puts :class:`RedactingFilter` on the root logger, on Dagster's ``dagster``
  logger and on their handlers, wraps the log-record factory so that EVERY record is redacted when
  it is created (a logger's filter does not see records propagated from child loggers, and Dagster
  builds a fresh ``DagsterLogManager`` per run, so the factory is what reaches ``context.log``
  records, ``urllib3``'s debug lines with full URLs, and Dagster's console logger), and wraps
  ``sys.excepthook`` so an uncaught traceback printed to the console is redacted too.

What it cannot do: change an exception object that already carries a secret (Dagster serialises
the exception chain of a failed step into its event log as is). That is why the sources never
raise with a chain (``raise ... from None``, or raising outside the ``except`` block) and redact
their own messages: the filter is the second line, not the first.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from cryptofactor_assets import settings

MASK = "***"
#: Shorter configured values are not replaced as plain text (``"1"`` would hit every number).
MIN_SECRET_LENGTH = 4
#: Environment variables whose values are secrets (matched on the upper-cased name).
SECRET_ENV_NAME = re.compile(r"^COINGECKO_API_KEY$|_API_KEY$|_SECRET$|_SECRET_|_TOKEN$|PASSWORD")
#: Parameter names whose values are secrets wherever they appear (URL query, kwargs, JSON, repr).
SECRET_PARAMS = ("x_cg_demo_api_key", "x_cg_pro_api_key", "x-cg-demo-api-key", "x-cg-pro-api-key",
                 "api_key", "api-key", "apikey", "access_token", "client_secret", "token", "secret",
                 "password", "passwd")

_names = "|".join(re.escape(n) for n in sorted(SECRET_PARAMS, key=len, reverse=True))
# name=value (query strings, kwargs reprs); the value stops at a separator or a quote.
_QUERY_PARAM = re.compile(rf"(?i)(?<![\w-])({_names})(=|%3D)([^&\s'\"#<>;,)\]}}]+)")
# "name": "value" / 'name': 'value' (JSON bodies, dict reprs).
_QUOTED_PARAM = re.compile(rf"(?i)(['\"])({_names})\1(\s*:\s*)(['\"])(.*?)(?<!\\)\4")
# Header lines and reprs: x-cg-demo-api-key: value
_HEADER = re.compile(r"(?i)\b(x-cg-(?:demo|pro)-api-key)(\s*:\s*)([^\s'\",}]+)")
# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)")

_registered: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Treat ``value`` as a secret for the rest of the process (e.g. a key passed as an argument)."""
    if value:
        with _lock:
            _registered.add(str(value))


def secret_env_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of the environment variables whose values are secrets (see the module docstring)."""
    env = settings.environment() if environ is None else environ
    return sorted(name for name in env if SECRET_ENV_NAME.search(name.upper()))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every configured secret value long enough to match as text, longest first."""
    env = settings.environment() if environ is None else environ
    values = {env[name] for name in secret_env_names(env) if env.get(name)}
    with _lock:
        values |= _registered
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _variants(value: str) -> Iterable[str]:
    """A secret as it may appear in text: raw, percent-encoded (path / query forms)."""
    yield value
    yield quote(value, safe="")
    yield quote_plus(value)


def redact(text: Any, environ: Mapping[str, str] | None = None) -> str:
    """``text`` (anything; ``str()`` of it) with every secret replaced by :data:`MASK`.

    Pure apart from reading the environment (or ``environ``) and the registered secrets.
    Idempotent: ``redact(redact(t)) == redact(t)``.
    """
    out = text if isinstance(text, str) else str(text)
    if not out:
        return out
    for value in secret_values(environ):
        for form in dict.fromkeys(_variants(value)):
            if form in out:
                out = out.replace(form, MASK)
    out = _QUERY_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    out = _QUOTED_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{MASK}{m.group(4)}",
                            out)
    out = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", out)


def redact_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Dagster metadata mapping with every text value redacted.

    Plain strings and ``MetadataValue.md`` / ``.text`` / ``.url`` / ``.path`` values are redacted;
    ``.json`` values are redacted recursively; numbers and other values are kept as they are.
    """
    import dagster as dg

    def one(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, dg.MarkdownMetadataValue):
            return dg.MetadataValue.md(redact(value.md_str))
        if isinstance(value, dg.TextMetadataValue):
            return dg.MetadataValue.text(redact(value.text))
        if isinstance(value, dg.UrlMetadataValue):
            return dg.MetadataValue.url(redact(value.url))
        if isinstance(value, dg.PathMetadataValue):
            return dg.MetadataValue.path(redact(value.path))
        if isinstance(value, dg.JsonMetadataValue):
            return dg.MetadataValue.json(_redact_json(value.data))
        return value

    return {key: one(value) for key, value in metadata.items()}


def _redact_json(data: Any) -> Any:
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, Mapping):
        return {k: _redact_json(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_redact_json(v) for v in data]
    return data


# ---------------------------------------------------------------------- logging
def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a log record in place: its message (args merged in only when something changed),
    its exception text and its stack text. Never raises (a broken record is left as it is)."""
    try:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: redact what is there
            message = str(record.msg)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
    except Exception:  # noqa: BLE001 - logging must never fail because of the guard
        pass
    return record


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that redacts every record it sees (and drops none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_FILTER = RedactingFilter()


def _redacting_factory(previous):
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    factory.redacting = True  # type: ignore[attr-defined]
    return factory


def _redacting_excepthook(previous):
    def hook(exc_type, exc, tb) -> None:
        import traceback

        try:
            sys.stderr.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))
        except Exception:  # noqa: BLE001
            previous(exc_type, exc, tb)

    hook.redacting = True  # type: ignore[attr-defined]
    return hook


def _guard(logger: logging.Logger) -> None:
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    for handler in logger.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def install_redaction() -> None:
    """Install the logging guard (see the module docstring). Safe to call any number of times.

    Handlers added to the root or ``dagster`` loggers later are still covered by the record
    factory; calling again also puts the filter on them.
    """
    global _installed
    _guard(logging.getLogger())
    _guard(logging.getLogger("dagster"))
    with _lock:
        if _installed:
            return
        if not getattr(logging.getLogRecordFactory(), "redacting", False):
            logging.setLogRecordFactory(_redacting_factory(logging.getLogRecordFactory()))
        if not getattr(sys.excepthook, "redacting", False):
            sys.excepthook = _redacting_excepthook(sys.excepthook)
        _installed = True
