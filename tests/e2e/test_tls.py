"""HTTPS served by `crowdloop serve` itself (docs/deployment.md "TLS"): `--tls self-signed` makes a
certificate once and keeps it; boto3 trusts it through the AWS_CA_BUNDLE line serve prints; the address the
seed notebook prints ("https://" + SubDomain) opens the portal; links follow the scheme; plain HTTP is not
answered; `--tls-cert`/`--tls-key` serve a given certificate; bad settings are refused in one line."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crowdloop import tls
from tests.api.sagemaker_helpers import make_workteam
from tests.conftest import RunningServer, start_server, stop_server


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(path.read_text())).hexdigest()


def _get(url: str, cafile: str) -> tuple[int, str, str]:
    """Status, final URL and body of a GET that trusts only `cafile`."""
    context = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url, timeout=10, context=context) as reply:
        return reply.status, reply.url, reply.read().decode()


def _serve(data_dir: Path, *args: str, port: int | None = None) -> RunningServer:
    return start_server(data_dir, f"sqlite:///{data_dir / 'crowdloop.db'}", "sqlite", port=port, args=args)


def test_self_signed_https_end_to_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = _serve(data_dir, "--tls", "self-signed")
    try:
        assert server.endpoint_url == f"https://127.0.0.1:{server.port}"
        bundle = server.exports["AWS_CA_BUNDLE"]
        assert Path(bundle) == (data_dir / "tls" / "cert.pem").resolve()
        assert oct((data_dir / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
        sm = server.client("sagemaker")
        make_workteam(sm, "article-test")
        subdomain = sm.describe_workteam(WorkteamName="article-test")["Workteam"]["SubDomain"]
        assert subdomain == f"127.0.0.1:{server.port}"
        status, final, body = _get("https://" + subdomain, bundle)  # what the seed notebook prints
        assert status == 200 and final.startswith(f"https://{subdomain}/signin") and "<form" in body
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen("https://" + subdomain, timeout=10)  # not trusted without the bundle
        plain = subprocess.run(
            [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen('http://{subdomain}/', timeout=5)"],
            capture_output=True,
            text=True,
        )
        assert plain.returncode != 0  # plain HTTP gets no page on the HTTPS port
        invite = subprocess.run(
            [sys.executable, "-m", "crowdloop", "workers", "invite", "new@example.org", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "CROWDLOOP_DATABASE_URL": server.database_url},
        )
        assert invite.stdout.startswith(f"https://{subdomain}/invite/"), invite.stdout
        kept = _fingerprint(data_dir / "tls" / "cert.pem")
    finally:
        stop_server(server)

    again = _serve(data_dir, "--tls", "self-signed", port=server.port)
    try:
        assert _fingerprint(data_dir / "tls" / "cert.pem") == kept  # the certificate is kept across restarts
        status, _, _ = _get(again.endpoint_url + "/_crowdloop/health", bundle)
        assert status == 200
    finally:
        stop_server(again)


def test_a_given_certificate_is_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = tls.ensure_self_signed(tmp_path / "mine", ("localhost", "127.0.0.1"), _now())
    monkeypatch.setenv("SSL_CERT_FILE", str(made.cert))  # this process's default trust: the health check
    server = _serve(tmp_path / "data", "--tls-cert", str(made.cert), "--tls-key", str(made.key))
    try:
        assert server.endpoint_url.startswith("https://") and "AWS_CA_BUNDLE" not in server.exports
        status, _, _ = _get(server.endpoint_url + "/_crowdloop/health", str(made.cert))
        assert status == 200
        assert not (tmp_path / "data" / "tls").exists()  # nothing made: the given files are used
    finally:
        stop_server(server)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls", "yes"], "setting tls (CROWDLOOP_TLS) must be 'self-signed' or empty, not 'yes'"),
        (["--tls-cert", "/nonexistent.pem"], "go together: give both files or neither"),
        (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], "/nonexistent.pem is not a readable"),
    ],
)
def test_bad_tls_settings_are_refused_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crowdloop", "serve", "--data-dir", str(tmp_path), "--port", "1", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_self_signed_certificate_is_remade_for_new_names_or_near_its_end(tmp_path: Path) -> None:
    first = tls.ensure_self_signed(tmp_path, ("localhost", "127.0.0.1"), _now())
    kept = _fingerprint(first.cert)
    assert _fingerprint(tls.ensure_self_signed(tmp_path, ("localhost",), _now()).cert) == kept
    renamed = tls.ensure_self_signed(tmp_path, ("localhost", "127.0.0.1", "review.example.org"), _now())
    renamed_print = _fingerprint(renamed.cert)
    assert renamed_print != kept
    later = _now() + timedelta(days=tls.VALID_DAYS - tls.RENEW_DAYS + 1)
    assert _fingerprint(tls.ensure_self_signed(tmp_path, ("localhost",), later).cert) != renamed_print


def _now() -> datetime:
    return datetime.now(UTC)
