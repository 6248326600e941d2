"""Who may act as whom: class mode, learners' PINs or passphrases, the instructor password.

Plain Python (no Streamlit). Secrets are never stored: a learner's PIN or passphrase is kept as
an scrypt hash with a random salt (`hash_secret`), checked with a constant-time compare
(`verify_secret`). The instructor password comes from $TIL_INSTRUCTOR_PASSWORD, either as text
or, better, as such a hash (`python3 -m study.identity` prints one for a password typed at the
prompt), and is compared the same way.

Settings (environment):
- TIL_CLASS_MODE=on      a class server: learners are not listed, `?learner=` in a URL is ignored,
                         a session signs in by name (and PIN, when the learner set one).
- TIL_INSTRUCTOR_PASSWORD  enables the instructor panel (remove learners, reset a PIN).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

# scrypt cost: n=2**14, r=8 -> 16 MB and ~50 ms per check on one core; enough to make guessing a
# stolen database's 4-digit PINs cost something, cheap for one sign-in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_SECRET, MAX_SECRET = 4, 128
_PREFIX = "scrypt"


def class_mode() -> bool:
    return os.environ.get("TIL_CLASS_MODE", "").strip().lower() in ("1", "on", "true", "yes")


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def check_secret(secret: str) -> str | None:
    """Why a new PIN/passphrase is refused (None: fine): length only; any characters."""
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        return f"a PIN or passphrase has {MIN_SECRET} to {MAX_SECRET} characters"
    return None


def hash_secret(secret: str) -> str:
    """`scrypt$n$r$p$salt$hash` (base64) of a PIN or passphrase."""
    salt = secrets.token_bytes(16)
    digest = _derive(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"{_PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether `secret` matches a `hash_secret` value (constant-time compare; False if malformed)."""
    if not stored:
        return False
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
        if prefix != _PREFIX or int(n) > 2**20 or int(r) > 32 or int(p) > 16:
            return False
        want = base64.b64decode(digest, validate=True)
        got = _derive(secret, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def instructor_enabled() -> bool:
    return bool(os.environ.get("TIL_INSTRUCTOR_PASSWORD"))


def verify_instructor(password: str) -> bool:
    """The instructor password ($TIL_INSTRUCTOR_PASSWORD: a `hash_secret` value, or the text)."""
    configured = os.environ.get("TIL_INSTRUCTOR_PASSWORD", "")
    if not configured:
        return False
    if configured.startswith(_PREFIX + "$"):
        return verify_secret(password, configured)
    # plain text in the environment: compare digests, so the time does not depend on where they differ
    return hmac.compare_digest(hashlib.sha256(password.encode()).digest(), hashlib.sha256(configured.encode()).digest())


if __name__ == "__main__":  # print a hash for TIL_INSTRUCTOR_PASSWORD
    import getpass

    print(hash_secret(getpass.getpass("instructor password: ")))
