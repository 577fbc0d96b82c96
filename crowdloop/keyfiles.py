"""Server secrets (HMAC keys for frame/lease tokens, local blob URLs, the OIDC state cookie), each kept in
<data_dir>/keys/<name> so that URLs and tokens survive a restart and every server process shares them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_key(data_path: Path, name: str = "portal-tokens.key") -> bytes:
    """A 32-byte key kept in <data_dir>/keys/<name>; the first process to create it wins."""
    path = data_path / "keys" / name
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    finally:
        tmp.unlink()
    return key
