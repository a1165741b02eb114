"""Sessions: what lets a signed-in client refresh its session token, and ends at logout.

A session is the Cognito refresh token behind an ID token, named by the ID token's
`origin_jti` (Cognito keeps it through refreshes). The refresh token is a credential: it is
kept sealed (AES-256-GCM under a key derived from the platform's secret, the session id as
associated data, so a sealed token cannot be moved to another session) in the accounts
table, with a TTL at its own expiry, and the account item lists the session (`sessionIds`),
which the authorizer checks with the account's state in one GetItem. Logout removes both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Final

from pynamodb.exceptions import DeleteError, UpdateError

from tidewater.store import keys
from tidewater.store.accounts import session_ids
from tidewater.store.conditions import condition_failed
from tidewater.store.models import AccountModel, SessionModel
from tidewater.store.overload import unavailable_when_busy

_LABEL: Final = b"tidewater session seal v1"
_NONCE: Final = 12


def seal_key(secret: bytes, label: bytes = _LABEL) -> bytes:
    """The sealing key, derived from the platform secret for one use (`label`): sessions',
    or a followed site's token (services/sources.py)."""
    return hmac.new(secret, label, hashlib.sha256).digest()


def seal(key: bytes, session_id: str, refresh_token: str) -> str:
    # cryptography (15 ms to import) is loaded by the first seal or unseal, not by every
    # function that imports this store: most of their requests never seal anything.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE)
    box = AESGCM(key).encrypt(nonce, refresh_token.encode(), session_id.encode())
    return base64.b64encode(nonce + box).decode()


def unseal(key: bytes, session_id: str, sealed: str) -> str:
    """The refresh token; cryptography's InvalidTag if it was sealed for another session
    or under another key."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], session_id.encode()).decode()


@unavailable_when_busy
class SessionsRepository:
    def open(self, user_id: str, session_id: str, sealed: str, expires_at: int, now: int) -> None:
        """The sealed token first, then the account's list (a session the authorizer accepts
        can always be refreshed); sessions past their end leave the list on the way."""
        SessionModel(
            keys.session_key(session_id), owner=user_id, sealed=sealed, expires_at=expires_at
        ).save()
        AccountModel(user_id).update(
            actions=[AccountModel.session_ids.add({f"{expires_at}:{session_id}"})],
            condition=AccountModel.user_id.exists(),
        )
        ended = {e for e in self._entries(user_id).values() if int(e.partition(":")[0]) < now}
        if ended:
            self._forget(user_id, ended)

    def of(self, user_id: str) -> list[str]:
        """The ids of the account's open sessions (account deletion ends them all)."""
        return sorted(self._entries(user_id))

    def sealed(self, user_id: str, session_id: str) -> str | None:
        """The session's sealed refresh token, if the session is the user's and still open."""
        try:
            item = SessionModel.get(keys.session_key(session_id), consistent_read=True)
        except SessionModel.DoesNotExist:
            return None
        return item.sealed if item.owner == user_id else None

    def close(self, user_id: str, session_id: str) -> str | None:
        """End the session: off the account's list first (the authorizer refuses it from
        then on), then its sealed token, which is returned for revocation."""
        entry = self._entries(user_id).get(session_id)
        if entry is not None:
            self._forget(user_id, {entry})
        sealed = self.sealed(user_id, session_id)
        try:
            SessionModel(keys.session_key(session_id)).delete(
                condition=SessionModel.owner == user_id
            )
        except DeleteError as error:
            if not condition_failed(error):
                raise
        return sealed

    def _entries(self, user_id: str) -> dict[str, str]:
        try:
            item = AccountModel.get(
                user_id, attributes_to_get=["userId", "sessionIds"], consistent_read=True
            )
        except AccountModel.DoesNotExist:
            return {}
        return session_ids(item.session_ids)

    def _forget(self, user_id: str, entries: set[str]) -> None:
        try:
            AccountModel(user_id).update(
                actions=[AccountModel.session_ids.delete(entries)],
                condition=AccountModel.user_id.exists(),
            )
        except UpdateError as error:  # a gone account has no sessions to end
            if not condition_failed(error):
                raise
