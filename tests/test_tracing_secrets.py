"""No secret leaves the process, whatever sink: a corpus of credential shapes, placed where user
and model text goes (tool arguments, model input and output, metadata, error messages), written
through the real JSONL and DuckDB processors and the OTLP processor's mapping, must not appear in
any of them; look-alikes that are not secrets must come through as they were."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentoscope import tracing
from support.sinks import sink_texts

_PEM_BODY = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2mbLQh7dVvVxbBM9Vx0fTjzP1V8y"
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

# (text as it would appear, the part of it that must never reach a sink)
SECRETS: list[tuple[str, str]] = [
    ("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "Ab3dEf6hIj9kLm2nOp5qRs8t"),
    ("key sk-Zb3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6h here", "Zb3dEf6hIj9kLm2nOp5qRs8t"),
    ("sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-AbCdEfGh", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"),
    ("sk-svcacct-Qq1Ww2Ee3Rr4Tt5Yy6Uu7Ii8Oo9Pp0", "Qq1Ww2Ee3Rr4Tt5Yy6Uu7Ii8"),
    ("aws key AKIAIOSFODNN7EXAMPLE in config", "AKIAIOSFODNN7EXAMPLE"),
    ("session ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("AWS_SECRET_ACCESS_KEY=vJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "vJalrXUtnFEMI"),
    ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a used", "16C7e42F292c6912E7710c83"),
    ("gho_16C7e42F292c6912E7710c838347Ae178B4b", "6912E7710c838347Ae178B4b"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzAB", "0123456789_abcdefghijk"),
    ("slack xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    ("xoxp-2234567890-2234567890123-ZbCdEfGhIjKlMnOpQrStUvWx", "ZbCdEfGhIjKlMnOpQrStUvWx"),
    ("https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XXXXYYYYZZZZ1111", "XXXXYYYYZZZZ1111"),
    ("Authorization: Bearer abc123def456ghi789jkl", "abc123def456ghi789jkl"),
    ("authorization: bearer bbc123def456ghi789jkl", "bbc123def456ghi789jkl"),
    ("BEARER CBC123DEF456GHI789", "CBC123DEF456GHI789"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("curl with basic YWRtaW46c2VjcmV0MTIz set", "YWRtaW46c2VjcmV0MTIz"),
    ("OPENAI_API_KEY=plainvalue123", "plainvalue123"),
    ("ANTHROPIC_API_KEY='qwerty-98765-zz'", "qwerty-98765-zz"),
    ("DATABASE_PASSWORD=correct-horse-battery", "correct-horse-battery"),
    ("export SERVICE_TOKEN=tok_abcdef123456", "tok_abcdef123456"),
    ("STRIPE_KEY=opaque-value-77", "opaque-value-77"),
    ("postgres://admin:hunter2pass@db.internal:5432/app", "hunter2pass"),
    ("see https://user:s3cr3tP4ss@example.com/path", "s3cr3tP4ss"),
    (f"-----BEGIN RSA PRIVATE KEY-----\n{_PEM_BODY}\n-----END RSA PRIVATE KEY-----", _PEM_BODY),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n", "b3BlbnNzaC1rZX"),
    (f"jwt {_JWT}", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ('{"city": "Paris", "api_key": "my-very-own-key-42"}', "my-very-own-key-42"),
    ('{"username": "ann", "password": "hunter2hunter2"}', "hunter2hunter2"),
    ('{"user": {"credentials": {"client_secret": "cs-9f8e7d6c"}}}', "cs-9f8e7d6c"),
    ("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "SyA1b2C3d4E5f6G7h8I9j0K1"),
    ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "AbCdEfGhIjKlMnOpQrStUvWxYz"),
    ("sk_live_51H8abcdefghijklmnop1234", "51H8abcdefghijklmnop1234"),
    ("x-api-key: 0123456789abcdef", "0123456789abcdef"),
    ("GET /cb?access_token=ya29.a0AfH6SMBx&x=1", "ya29.a0AfH6SMBx"),
    ("Cookie: session=abc123def", "abc123def"),
    ("password: Tr0ub4dor-3", "Tr0ub4dor-3"),
]
# Secret-named keys in structured data (metadata, custom span data), nested or not.
SECRET_DICTS: list[tuple[dict[str, Any], str]] = [
    ({"config": {"db": {"password": "pa55word!"}}}, "pa55word!"),
    ({"headers": {"Authorization": "Token zq81kk"}}, "zq81kk"),
    ({"OPENAI_API_KEY": "dictvalue999"}, "dictvalue999"),
    ({"auth": {"refresh_token": "rt-0a1b2c"}}, "rt-0a1b2c"),
    ({"pin_code": 1, "db_password": 123456789}, "123456789"),
]
BENIGN: list[str] = [
    tracing.gen_trace_id(),
    tracing.gen_span_id(),
    tracing.gen_group_id(),
    "call_abc123XYZ456def789ghi",
    str(uuid.uuid4()),
    "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452e3a6d6",
    "token count",
    "password reset flow",
    "risk-assessment-pipeline-v2-production",
    "desk-booking-service-frontend-eu",
    "input_tokens: 1234",
    "max_tokens=512",
    "https://example.com/path?page=2&sort=asc",
    "write to user@example.com",
    "The Basic plan includes 5 seats",
    "bearer of bad news",
    "Asia/Tokyo",
    "the secret ingredient is love",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "key: value pairs",
    "cookie recipe: flour, sugar",
    "Eyjafjallajokull erupted",
    "sk-learn",
    "the api key rotation policy",
]


def _spans_with(secret: str, index: int) -> None:
    args = json.dumps({"query": secret, "n": index})
    with tracing.function_span(f"tool_{index}", input=args) as fn:
        fn.span_data.output = f"result: {secret}"
    with tracing.generation_span(
        input=[{"role": "user", "content": f"please use {secret}"}], model="gpt-4o"
    ) as gen:
        gen.span_data.output = [{"role": "assistant", "content": f"I used {secret}"}]
    with tracing.custom_span(f"custom_{index}", {"note": secret, "nested": [{"x": secret}]}):
        pass
    with tracing.function_span(f"failing_{index}", input=secret) as failing:
        failing.set_error({"message": f"failed with {secret}", "data": {"detail": secret}})
    with pytest.raises(RuntimeError), tracing.custom_span(f"raising_{index}"):
        raise RuntimeError(f"boom {secret}")


def _run_corpus(texts: list[str], dicts: list[dict[str, Any]], tmp_path: Path) -> dict[str, str]:
    """Every sink's output, as text, after the corpus went through it."""

    def make_spans() -> None:
        for index, text in enumerate(texts):
            with tracing.trace(f"wf {index}", metadata={"note": text, "ok": "1"}):
                _spans_with(text, index)
        for index, data in enumerate(dicts):
            with tracing.trace(f"dict {index}", metadata=data):
                with tracing.custom_span(f"dict_{index}", data):
                    pass

    return sink_texts(tmp_path, make_spans)


def test_no_secret_form_reaches_jsonl_duckdb_or_otlp(tmp_path: Path) -> None:
    tracing.set_data_policy(include_sensitive_data=True)
    assert len(SECRETS) + len(SECRET_DICTS) >= 30
    sinks = _run_corpus([text for text, _ in SECRETS], [data for data, _ in SECRET_DICTS], tmp_path)
    for name, visible in sinks.items():
        assert "[masked]" in visible, name
        leaked = [part for _, part in [*SECRETS, *SECRET_DICTS] if part in visible]
        assert not leaked, f"{name} holds {leaked}"


def test_look_alikes_come_through_unmasked(tmp_path: Path) -> None:
    tracing.set_data_policy(include_sensitive_data=True)
    assert len(BENIGN) >= 20
    sinks = _run_corpus(
        BENIGN, [{"input_tokens": 12, "cache_key": "abc", "token_count": 3}], tmp_path
    )
    for name, visible in sinks.items():
        missing = [text for text in BENIGN if text not in visible]
        assert not missing, f"{name} lost {missing}"
        assert "[masked]" not in visible, name


@pytest.mark.parametrize(("text", "part"), SECRETS)
def test_mask_secrets_covers_each_form(text: str, part: str) -> None:
    masked = tracing.mask_secrets(text)
    assert part not in masked and "[masked]" in masked


@pytest.mark.parametrize("text", BENIGN)
def test_mask_secrets_leaves_look_alikes(text: str) -> None:
    assert tracing.mask_secrets(text) == text


def test_a_key_cut_by_truncation_is_masked_whole() -> None:
    key = "sk-proj-" + "Q1w2E3r4" * 6
    tracing.set_data_policy(max_field_chars=100)
    with tracing.trace("t"), tracing.function_span("f", input="x" * 90 + key) as fn:
        pass
    value = tracing.span_record(fn)["data"]["input"]
    assert "Q1w2E3r4" not in value and value.endswith("chars]")
