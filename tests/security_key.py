"""A security key in software for the tests: it makes a credential and signs challenges as a hardware key does
(WebAuthn, ES256, "none" attestation), so ``backoffice.security_keys`` meets py_webauthn's real checks."""

import base64
import hashlib
import json
import os

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

USER_PRESENT, CREDENTIAL_INCLUDED = 0x01, 0x40  # authenticator data flags


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftwareKey:
    """One credential on one key. ``counter`` false: a key that keeps no signature counter (many passkeys)."""

    def __init__(self, *, counter: bool = True) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = counter
        self.sign_count = 0

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def create(self, options: dict, *, origin: str) -> str:
        """The browser's JSON for ``navigator.credentials.create`` with the server's ``options``."""
        public = self.private_key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: public.x.to_bytes(32, "big"), -3: public.y.to_bytes(32, "big")})
        credential = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + cose
        data = self._authenticator_data(options["rp"]["id"], USER_PRESENT | CREDENTIAL_INCLUDED) + credential
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return self._answer({"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation)})

    def get(self, options: dict, *, origin: str, rp_id: str | None = None) -> str:
        """The browser's JSON for ``navigator.credentials.get`` with the server's ``options``: signed for
        ``rp_id`` (the options' own by default) as seen from ``origin``."""
        if self.counter:
            self.sign_count += 1
        data = self._authenticator_data(rp_id or options["rpId"], USER_PRESENT)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.private_key.sign(data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return self._answer({"clientDataJSON": b64url(client_data), "authenticatorData": b64url(data),
                             "signature": b64url(signature)})  # fmt: skip

    def _authenticator_data(self, rp_id: str, flags: int) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + self.sign_count.to_bytes(4, "big")

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def _answer(self, response: dict) -> str:
        return json.dumps({"id": self.id, "rawId": self.id, "type": "public-key", "response": response,
                           "clientExtensionResults": {}})  # fmt: skip
