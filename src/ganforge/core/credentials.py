"""C2PA Content Credentials: a signed manifest declaring a generated file AI-made, through the official bindings.

``Signer(cert, key)`` holds the user's certificate chain (PEM, the signing certificate first) and private key;
``sign_file`` embeds a manifest in a PNG, JPEG, GIF, WAV or MP4 file: a ``c2pa.created`` action whose
``digitalSourceType`` is IPTC's ``trainedAlgorithmicMedia`` (the C2PA term for content a trained model made), the
claim generator ``ganforge <version>``, and ganforge's provenance record (core/provenance.py) as the assertion
``org.ganforge.provenance``. ``read`` returns the active manifest's summary and its validation state
(``Valid``: the signature and hashes check out; ``Trusted``: also chained to a trust anchor the library was given).

The bindings are an optional extra (``pip install 'ganforge[c2pa]'``: c2pa-python, and cryptography to tell the
key's algorithm). Reading a manifest only parses it; nothing in it is executed.
"""
from __future__ import annotations

import os
from typing import Any

from ..version import __version__
from .errors import ConfigError, DataError
from .provenance import AI_SOURCE

MIMES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".wav": "audio/wav", ".mp4": "video/mp4"}
ASSERTION = "org.ganforge.provenance"
ALGS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")


def _bindings():
    try:
        import c2pa
    except ImportError:
        raise ConfigError("C2PA signing needs the c2pa-python package; pip install 'ganforge[c2pa]'") from None
    return c2pa


def _read(path: str, what: str) -> bytes:
    try:
        with open(os.path.expanduser(path), "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"{what} {path}: cannot be read ({e.strerror or e})") from None
    if b"-----BEGIN" not in data:
        raise DataError(f"{what} {path}: not a PEM file")
    return data


def key_alg(key: bytes) -> str:
    """The C2PA signing algorithm for a PEM private key: es256/384/512 by curve, ps256 for RSA, ed25519."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise ConfigError("telling the key's algorithm needs the cryptography package (pip install "
                          "'ganforge[c2pa]'), or give it: --sign-alg es256") from None
    try:
        k = load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as e:
        raise DataError(f"the signing key cannot be loaded ({e})") from None
    if isinstance(k, ec.EllipticCurvePrivateKey):
        bits = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(k.curve.name)
        if bits:
            return bits
        raise DataError(f"C2PA takes P-256, P-384 or P-521 keys, not {k.curve.name}")
    if isinstance(k, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(k, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise DataError(f"C2PA cannot sign with a {type(k).__name__}")


class Signer:
    """The user's C2PA signing identity; checked on creation by signing a one-pixel PNG in memory."""

    def __init__(self, cert: str, key: str, alg: str | None = None):
        self.c2pa = _bindings()
        self.cert, self.key = _read(cert, "certificate"), _read(key, "signing key")
        self.alg = (alg or key_alg(self.key)).lower()
        if self.alg not in ALGS:
            raise ConfigError(f"--sign-alg must be one of {', '.join(ALGS)}, got {alg!r}")
        self._sign_bytes(_ONE_PIXEL_PNG, "image/png", {"check": True})

    def _signer(self):
        c = self.c2pa
        info = c.C2paSignerInfo(getattr(c.C2paSigningAlg, self.alg.upper()), self.cert, self.key, None)
        return c.Signer.from_info(info)

    def _sign_bytes(self, data: bytes, mime: str, rec: dict[str, Any] | None) -> bytes:
        import io
        manifest = {"claim_generator_info": [{"name": "ganforge", "version": __version__}],
                    "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                        {"action": "c2pa.created", "digitalSourceType": AI_SOURCE}]}}]}
        if rec:
            manifest["assertions"].append({"label": ASSERTION, "data": rec})
        src, dst = io.BytesIO(data), io.BytesIO()
        try:
            builder = self.c2pa.Builder(manifest)
            builder.sign(self._signer(), mime, src, dst)
        except self.c2pa.C2paError as e:
            raise DataError(f"C2PA signing refused: {str(e).strip() or type(e).__name__}") from None
        return dst.getvalue()

    def sign_file(self, path: str) -> bool:
        """Embed a signed manifest in ``path`` (replaced whole); False for a format C2PA does not cover here."""
        from .checkpoint import atomic_write_bytes
        from .provenance import read as read_provenance
        mime = MIMES.get(os.path.splitext(path)[1].lower())
        if mime is None:
            return False
        with open(path, "rb") as f:
            data = f.read()
        atomic_write_bytes(path, self._sign_bytes(data, mime, read_provenance(path)))
        return True


def sign_tree(path: str, signer: Signer) -> list[str]:
    """Sign ``path`` or every file below it that C2PA covers; the files signed."""
    files = [path] if os.path.isfile(path) else sorted(os.path.join(r, n) for r, _, ns in os.walk(path) for n in ns)
    return [f for f in files if signer.sign_file(f)]


def read(path: str) -> dict[str, Any] | None:
    """The active C2PA manifest of ``path`` summarised (None: no manifest, or the bindings are not installed)."""
    if os.path.splitext(path)[1].lower() not in MIMES:
        return None
    try:
        import c2pa
    except ImportError:
        return None
    try:
        reader = c2pa.Reader.try_create(path)
    except c2pa.C2paError as e:
        return {"validation_state": "Invalid", "error": str(e).strip()}
    if reader is None:
        return None
    with reader:
        manifest = reader.get_active_manifest() or {}
        state = reader.get_validation_state()
    actions = [a for s in manifest.get("assertions", []) if str(s.get("label", "")).startswith("c2pa.actions")
               for a in (s.get("data") or {}).get("actions", [])]
    ours = next((s.get("data") for s in manifest.get("assertions", []) if s.get("label") == ASSERTION), None)
    sig = manifest.get("signature_info") or {}
    return {"validation_state": state, "digital_source_type": next((a.get("digitalSourceType") for a in actions
                                                                    if a.get("digitalSourceType")), None),
            "claim_generator": [g.get("name") for g in manifest.get("claim_generator_info", [])],
            "signer": sig.get("common_name"), "issuer": sig.get("issuer"), "alg": sig.get("alg"),
            "ganforge": ours}


# a valid 1x1 greyscale PNG: the signer's self-check signs it in memory
_ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c6360000000020001e221bc330000000049454e44ae426082")
