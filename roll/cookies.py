"""Response cookies, serialised by biscuits."""

from __future__ import annotations

from datetime import datetime, timezone

from biscuits import Cookie


class Cookies(dict[str, Cookie]):
    """Cookies to send, by name; each becomes one Set-Cookie header."""

    def set(
        self,
        name: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | None = None,
        secure: bool = False,
        httponly: bool = False,
        path: str | None = None,
        domain: str | None = None,
        samesite: str | None = None,
    ) -> Cookie:
        if expires is not None and expires.tzinfo is not None:
            # biscuits prints the wall time as GMT: give it UTC.
            expires = expires.astimezone(timezone.utc).replace(tzinfo=None)
        cookie = Cookie(
            name=name,
            value=value,
            max_age=max_age or 0,  # biscuits: 0 means "no Max-Age"
            expires=expires,
            secure=secure,
            httponly=httponly,
            path=path or "/",
            domain=domain,
            samesite=samesite,
        )
        self[name] = cookie
        return cookie
