"""Authentication and isolation: tokens hashed in the configuration, principals see only
their own jobs, invalid tokens are UNAUTHENTICATED, TLS with a configured certificate."""
from __future__ import annotations

import datetime
import hashlib

import dimod
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from qopt.client import Client, SolveError
from qopt.service.auth import hash_token
from qopt.service.limits import ServiceConfig, load_config
from qopt.service.server import Server

ALICE, BOB = "alice-token-1234", "bob-token-5678"


@pytest.fixture(scope="module")
def auth_server():
    config = ServiceConfig(tokens={hash_token(ALICE): "alice", hash_token(BOB): "bob"})
    srv = Server("127.0.0.1:0", config=config).start()
    yield srv
    srv.stop(grace=1.0)


def _bqm():
    return dimod.generators.gnp_random_bqm(6, 0.5, dimod.SPIN, random_state=9)


def test_hash_is_sha256():
    assert hash_token("test") == hashlib.sha256(b"test").hexdigest()


def test_jobs_are_isolated_between_principals(auth_server):
    with Client(auth_server.address, token=ALICE) as alice, Client(auth_server.address, token=BOB) as bob:
        job = alice.submit(_bqm(), backend="sa", num_reads=3, seed=1, request_id="shared-id")
        assert alice.job(job.job_id).wait(timeout=20).state == "SUCCEEDED"
        for call in (lambda: bob.job(job.job_id).get(), lambda: bob.job(job.job_id).cancel(),
                     lambda: list(bob.job(job.job_id).watch(timeout=5)), lambda: bob.job(job.job_id).result(timeout=5)):
            with pytest.raises(SolveError) as info:
                call()
            assert info.value.code == grpc.StatusCode.NOT_FOUND
        assert job.job_id not in {j.job_id for j in bob.list_jobs()}
        assert job.job_id in {j.job_id for j in alice.list_jobs()}
        # request_ids are per principal: bob's "shared-id" is a new job, not alice's
        bobs = bob.submit(_bqm(), backend="sa", num_reads=4, seed=2, request_id="shared-id")
        assert bobs.job_id != job.job_id
        bobs.wait(timeout=20)


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_invalid_token_is_unauthenticated(auth_server, token):
    with Client(auth_server.address, token=token) as c:
        for call in (lambda: c.solve(_bqm(), backend="sa", num_reads=1), lambda: c.submit(_bqm(), backend="sa"),
                     lambda: c.list_jobs(), lambda: c.job("x").get(), lambda: list(c.job("x").watch(timeout=5)),
                     lambda: c.validate(_bqm())):
            with pytest.raises(SolveError) as info:
                call()
            assert info.value.code == grpc.StatusCode.UNAUTHENTICATED


def test_health_needs_no_token(auth_server):
    with grpc.insecure_channel(auth_server.address) as ch:
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_config_file_tokens(tmp_path):
    path = tmp_path / "qopt.toml"
    path.write_text(f'max_queue_length = 7\n[tokens]\n"{hash_token(ALICE)}" = "alice"\n')
    config = load_config(path, job_workers=3)
    assert config.max_queue_length == 7 and config.job_workers == 3 and config.auth_enabled
    assert config.tokens[hash_token(ALICE)] == "alice"
    (tmp_path / "bad.json").write_text('{"max_qeue_length": 3}')
    with pytest.raises(ValueError, match="max_qeue_length"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="tokens"):
        ServiceConfig(tokens={"not-a-digest": "x"})


def _self_signed(tmp_path):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem


def test_tls_with_token(tmp_path):
    cert, key = _self_signed(tmp_path)
    config = ServiceConfig(tokens={hash_token(ALICE): "alice"})
    with Server("127.0.0.1:0", config=config, tls_cert=cert, tls_key=key) as srv:
        assert srv.tls
        with Client(srv.address, token=ALICE, root_certificates=cert, server_name="localhost") as c:
            result = c.solve(_bqm(), backend="sa", num_reads=5, seed=3, timeout=20)
            assert result.best.energy == pytest.approx(dimod.ExactSolver().sample(_bqm()).first.energy)
        with Client(srv.address, token=ALICE) as plaintext:  # plaintext client cannot talk to a TLS server
            with pytest.raises(SolveError) as info:
                plaintext.solve(_bqm(), backend="sa", num_reads=1, timeout=5)
            assert info.value.code == grpc.StatusCode.UNAVAILABLE
