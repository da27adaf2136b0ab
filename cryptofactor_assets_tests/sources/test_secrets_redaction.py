"""redact() and the logging guard: configured secrets and key-bearing URL parameters never get out."""

from __future__ import annotations

import io
import logging
import sys

import dagster as dg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptofactor_assets.sources import redaction
from cryptofactor_assets.sources.redaction import (
    MASK,
    RedactingFilter,
    install_redaction,
    redact,
    redact_metadata,
    redact_record,
    register_secret,
    secret_env_names,
    secret_values,
)

KEY = "CG-LEAKCANARY+k/9=zZ"


@pytest.fixture
def restore_logging():
    """Put the process-wide logging state back after a test that installs the guard."""
    factory, hook = logging.getLogRecordFactory(), sys.excepthook
    loggers = [logging.getLogger(), logging.getLogger("dagster")]
    saved = [(lg, list(lg.filters), [(h, list(h.filters)) for h in lg.handlers]) for lg in loggers]
    installed = redaction._installed
    yield
    logging.setLogRecordFactory(factory)
    sys.excepthook = hook
    for lg, filters, handlers in saved:
        lg.filters[:] = filters
        for h, hf in handlers:
            h.filters[:] = hf
    redaction._installed = installed


def test_secret_env_names_follow_the_patterns():
    env = {"COINGECKO_API_KEY": "a" * 10, "BYBIT_API_KEY": "b" * 10, "CLIENT_SECRET": "c" * 10,
           "AWS_SECRET_ACCESS_KEY": "d" * 10, "GITHUB_TOKEN": "e" * 10, "PGPASSWORD": "f" * 10,
           "dagster_pg_password": "g" * 10, "CRYPTOFACTOR_SOURCE": "bybit", "TOKENIZER": "x" * 10,
           "COINGECKO_API_PLAN": "demo", "PATH": "/usr/bin"}
    assert secret_env_names(env) == ["AWS_SECRET_ACCESS_KEY", "BYBIT_API_KEY", "CLIENT_SECRET", "COINGECKO_API_KEY",
                                     "GITHUB_TOKEN", "PGPASSWORD", "dagster_pg_password"]
    assert "bybit" not in secret_values(env) and "demo" not in secret_values(env)


def test_configured_values_are_masked_raw_and_percent_encoded(monkeypatch):
    monkeypatch.setenv("COINGECKO_API_KEY", KEY)
    monkeypatch.setenv("SOME_TOKEN", "abc")  # too short to match as text
    text = (f"key {KEY} in a body; url ?vs=usd&k=CG-LEAKCANARY%2Bk%2F9%3DzZ; plus form CG-LEAKCANARY%2Bk%2F9%3DzZ "
            "and abc stays")
    out = redact(text)
    assert "LEAKCANARY" not in out and out.count(MASK) == 3 and "abc stays" in out


@pytest.mark.parametrize("text,expected", [
    ("GET /api/v3/coins?vs_currency=usd&x_cg_demo_api_key=SECRETVALUE HTTP/1.1",
     "GET /api/v3/coins?vs_currency=usd&x_cg_demo_api_key=*** HTTP/1.1"),
    ("for url: https://pro-api.coingecko.com/api/v3/x?x_cg_pro_api_key=SECRETVALUE&from=1",
     "for url: https://pro-api.coingecko.com/api/v3/x?x_cg_pro_api_key=***&from=1"),
    ("params={'x_cg_demo_api_key': 'SECRETVALUE', 'vs_currency': 'usd'}",
     "params={'x_cg_demo_api_key': '***', 'vs_currency': 'usd'}"),
    ('{"api_key": "SECRETVALUE", "n": 1}', '{"api_key": "***", "n": 1}'),
    ("x-cg-pro-api-key: SECRETVALUE", "x-cg-pro-api-key: ***"),
    ("postgresql://dagster:SECRETVALUE@db:5432/dagster", "postgresql://dagster:***@db:5432/dagster"),
    ("partition_key=2024-01-01 next_token_count=3", "partition_key=2024-01-01 next_token_count=3"),
    ("HTTP 401 from CoinGecko (error 10012)", "HTTP 401 from CoinGecko (error 10012)"),
])
def test_key_bearing_parameters_are_masked_without_configuration(text, expected):
    assert redact(text, environ={}) == expected


def test_registered_secret_is_masked():
    register_secret("REGISTERED-ONLY-9f8e7d")
    assert redact("x REGISTERED-ONLY-9f8e7d y", environ={}) == f"x {MASK} y"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_redact_is_idempotent_and_removes_the_key_wherever_it_is(before, after):
    env = {"COINGECKO_API_KEY": KEY}
    once = redact(before + KEY + after, environ=env)
    assert KEY not in once
    assert redact(once, environ=env) == once


def test_redact_metadata_covers_text_values(monkeypatch):
    monkeypatch.setenv("COINGECKO_API_KEY", KEY)
    meta = redact_metadata({
        "s": f"a {KEY}", "md": dg.MetadataValue.md(f"- `bitcoin`: {KEY}"), "t": dg.MetadataValue.text(KEY),
        "j": dg.MetadataValue.json({"x": [KEY, 1]}), "n": 3, "u": dg.MetadataValue.url(f"http://h/?x_cg_demo_api_key={KEY}"),
    })
    assert KEY not in repr(meta) and meta["n"] == 3 and meta["md"].md_str == f"- `bitcoin`: {MASK}"


def test_filter_redacts_message_args_and_exception_text(monkeypatch):
    monkeypatch.setenv("COINGECKO_API_KEY", KEY)
    try:
        raise RuntimeError(f"for url: http://h/x?x_cg_demo_api_key={KEY}")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "got %s", (KEY,), sys.exc_info())
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f"got {MASK}"
    assert KEY not in logging.Formatter().format(record)
    # a record without a secret is left exactly as it was (args kept for structured handlers)
    plain = logging.LogRecord("t", logging.INFO, __file__, 1, "n=%d", (3,), None)
    redact_record(plain)
    assert plain.args == (3,) and plain.getMessage() == "n=3"


def test_install_redaction_covers_child_loggers_handlers_added_later_and_the_excepthook(monkeypatch, restore_logging):
    monkeypatch.setenv("COINGECKO_API_KEY", KEY)
    install_redaction()
    install_redaction()  # idempotent
    assert redaction._FILTER in logging.getLogger().filters and redaction._FILTER in logging.getLogger("dagster").filters
    stream = io.StringIO()
    child = logging.getLogger("urllib3.connectionpool.test-redaction")
    handler = logging.StreamHandler(stream)  # added after install, on a child logger: the record factory covers it
    child.addHandler(handler)
    child.propagate = False
    try:
        child.warning('%s "GET /x?x_cg_demo_api_key=%s HTTP/1.1" 401', "http://127.0.0.1:1", KEY)
    finally:
        child.removeHandler(handler)
    assert KEY not in stream.getvalue() and "x_cg_demo_api_key=***" in stream.getvalue()
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    try:
        raise ValueError(KEY)
    except ValueError:
        sys.excepthook(*sys.exc_info())
    assert "ValueError" in err.getvalue() and KEY not in err.getvalue()


def test_install_redaction_reaches_dagster_context_log(monkeypatch, restore_logging):
    monkeypatch.setenv("COINGECKO_API_KEY", KEY)
    install_redaction()

    @dg.asset
    def talky(context):
        context.log.warning(f"waiting after {KEY}")
        return 1

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([talky], instance=instance)
    assert result.success
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("waiting after" in m for m in messages)
    assert not any(KEY in m for m in messages)
