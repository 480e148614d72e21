"""Customer pseudonymisation: customer_key = HMAC-SHA256(secret, platform + handle).

The secret comes from the environment (`CAREWATCH__CUSTOMER_KEY_SECRET`) or
`.dlt/secrets.toml` (`[carewatch] customer_key_secret`). When neither has one,
a random secret is generated into `.dlt/secrets.toml` (gitignored) on first
use, so keys stay stable across runs on this machine and never reach git.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

ENV_VAR = "CAREWATCH__CUSTOMER_KEY_SECRET"
SECRETS_FILE = Path(".dlt") / "secrets.toml"
_TOML_KEY = "customer_key_secret"


def _secret_from_file(path: Path) -> str | None:
    import tomllib

    if not path.is_file():
        return None
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    value = data.get("carewatch", {}).get(_TOML_KEY)
    return str(value) if value else None


def customer_key_secret(secrets_file: Path = SECRETS_FILE) -> str:
    """The HMAC secret; generated and stored on first use when absent."""
    value = os.environ.get(ENV_VAR) or _secret_from_file(secrets_file)
    if value:
        return value
    value = secrets.token_hex(32)
    secrets_file.parent.mkdir(parents=True, exist_ok=True)
    with secrets_file.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[carewatch]\n{_TOML_KEY} = "{value}"\n')
    os.chmod(secrets_file, 0o600)
    return value


def customer_keyer(secret: str) -> Callable[[str, str], str]:
    """A cached function (platform, handle) -> hex HMAC; handles repeat a lot."""
    key = secret.encode()

    @lru_cache(maxsize=500_000)
    def keyed(platform: str, handle: str) -> str:
        message = f"{platform}\x1f{handle.lower()}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    return keyed
