"""C2PA Content Credentials on generated files: signed with a certificate chain made here, offline."""
import datetime
import json
import os
import subprocess
import sys

import pytest

import ganforge
from ganforge.core import credentials, provenance
from ganforge.core.errors import ConfigError, DataError

pytest.importorskip("c2pa")
x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                       "ganforge tests")])


def _usage(sign: bool, ca: bool):
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _cert(subject, issuer, pub, signing_key, ca: bool, days=30):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
         .not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(_usage(not ca, ca), critical=True))
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    if not ca:   # C2PA wants a leaf with an extended key usage, and the issuer's key identifier
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
                            critical=False)
    return b.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """(certificate chain PEM, key PEM, a self-signed leaf PEM) in a temporary folder."""
    d = tmp_path_factory.mktemp("pki")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("test ca"), _name("test ca"), ca_key.public_key(), ca_key, ca=True)
    leaf = _cert(_name("ganforge test signer"), ca.subject, key.public_key(), ca_key, ca=False)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    (d / "chain.pem").write_bytes(pem(leaf) + pem(ca))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    other = ec.generate_private_key(ec.SECP256R1())
    (d / "other.pem").write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return str(d / "chain.pem"), str(d / "key.pem"), str(d / "other.pem")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("c2pa") / "run"
    ganforge.train("digits", steps=3, out=str(out), progress=False,
                   overrides=["model.z_dim=8", "model.g_width=16", "model.d_width=16", "train.batch=16",
                              "train.sample_every=0"])
    return str(out)


def gf(*args):
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=300)


def test_signed_grid_validates_says_ai_generated_and_keeps_the_record(run, chain, tmp_path):
    out = tmp_path / "grid.png"
    ganforge.load(run).save(str(out), n=8, sign=chain[:2])
    cred = credentials.read(str(out))
    assert cred["validation_state"] in ("Valid", "Trusted")
    assert cred["digital_source_type"] == provenance.AI_SOURCE and cred["signer"] == "ganforge test signer"
    rec = provenance.read(str(out))
    assert rec["generated_by_gan"] and cred["ganforge"]["checkpoint_sha256"] == rec["checkpoint_sha256"]
    # one changed byte of the image data breaks the manifest's hash
    data = bytearray(out.read_bytes())
    idat = data.index(b"IDAT") + 8
    data[idat] ^= 0xFF
    (tmp_path / "tampered.png").write_bytes(bytes(data))
    assert credentials.read(str(tmp_path / "tampered.png"))["validation_state"] == "Invalid"


def test_cli_sign_and_read_back(run, chain, tmp_path):
    out = tmp_path / "s.png"
    r = gf("sample", run, "--n", "4", "--out", str(out), "--sign-cert", chain[0], "--sign-key", chain[1])
    assert r.returncode == 0, r.stderr
    shown = gf("provenance", str(out))
    assert shown.returncode == 0 and "C2PA Content Credentials Valid: AI-generated" in shown.stdout
    js = json.loads(gf("provenance", str(out), "--json").stdout)
    assert js["c2pa"]["digital_source_type"] == provenance.AI_SOURCE


def test_wrong_key_or_half_options_fail_in_one_line_leaving_nothing(run, chain, tmp_path):
    out = tmp_path / "bad.png"
    r = gf("sample", run, "--n", "4", "--out", str(out), "--sign-cert", chain[0], "--sign-key", chain[2])
    assert r.returncode != 0 and "C2PA signing refused" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    r = gf("sample", run, "--n", "4", "--out", str(out), "--sign-cert", chain[0])
    assert r.returncode != 0 and "--sign-key" in r.stderr and not out.exists()
    with pytest.raises(DataError, match="cannot be read"):
        credentials.Signer(str(tmp_path / "missing.pem"), chain[1])
    with pytest.raises(ConfigError, match="C2PA signing covers"):
        ganforge.load(run).save(str(tmp_path / "x.npz"), n=4, sign=chain[:2])
    assert not os.path.exists(tmp_path / "x.npz")


def test_unsigned_files_have_no_credentials(run, tmp_path):
    out = tmp_path / "plain.png"
    ganforge.load(run).save(str(out), n=4)
    assert credentials.read(str(out)) is None and credentials.read(str(tmp_path / "x.csv")) is None
