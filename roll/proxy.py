"""Proxy headers: the client's address and scheme as a trusted reverse proxy saw them.

Behind a proxy (nginx, a load balancer), every connection comes from the
proxy: the peer address is the proxy's, the scheme the one between proxy and
app. A proxy passes the originals in `X-Forwarded-For` / `X-Forwarded-Proto`
or in the standard `Forwarded` header (RFC 7239). Anyone can send those
headers, so they are believed only when the connection comes from an address
listed as trusted.

`ProxyHeaders(trusted).install(app)` makes `request.client` and
`request.scheme` read them; without it (the default) they are never looked at.
Both are computed when first read, so a request that does not read them pays
nothing either way.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Protocol


class ProxiedApp(Protocol):
    """What `install` configures: the app (roll.Roll)."""

    proxy_headers: ProxyHeaders | None

__all__ = ["ProxyHeaders", "parse_forwarded"]

Address = tuple[str, int]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyHeaders:
    """Trust the proxy headers of the peers in `trusted`.

    `trusted`: addresses or networks ("127.0.0.1", "10.0.0.0/8", "::1"), as an
    iterable or one comma-separated string; "*" trusts every peer (only when
    nothing but the proxy can reach the app). A peer without an IP address
    (a Unix socket) is trusted, as gunicorn does.

    With several proxies in a chain, `X-Forwarded-For: client, proxy1` (each
    proxy appends the address it got the request from), the client is the
    rightmost address that is not trusted: the entries left of it were written
    by the client itself and prove nothing. The scheme is the last
    `X-Forwarded-Proto` value (the one the trusted peer set). `Forwarded` is
    read only when there is no `X-Forwarded-For`; its `for` and `proto` come
    from the same element.
    """

    def __init__(self, trusted: str | Iterable[str] = "127.0.0.1") -> None:
        if isinstance(trusted, str):
            trusted = trusted.split(",")
        items = [item.strip() for item in trusted if item.strip()]
        self.trust_all = "*" in items
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in items if item != "*"
        )
        self._known: dict[str, bool] = {}  # address -> trusted (a proxy has few addresses)

    def __repr__(self) -> str:
        listed = ["*"] if self.trust_all else [str(network) for network in self.networks]
        return f"<ProxyHeaders trusting {', '.join(listed) or 'nobody'}>"

    def install(self, app: ProxiedApp) -> None:
        """Configure `app` (before it serves) to read the proxy headers."""
        app.proxy_headers = self

    def trusts(self, host: str | None) -> bool:
        if host is None:  # no IP address: a Unix socket, which only local processes reach
            return True
        known = self._known.get(host)
        if known is None:
            known = self.trust_all or _in_networks(host, self.networks)
            if len(self._known) < 1024:
                self._known[host] = known
        return known

    def resolve(
        self, peer: Address | None, scheme: str, headers: dict[str, str]
    ) -> tuple[Address | None, str]:
        """The client address and scheme of a request from `peer` with these headers."""
        if not self.trusts(peer[0] if peer is not None else None):
            return peer, scheme
        forwarded_for = headers.get("X-FORWARDED-FOR")
        if forwarded_for is not None:
            hops = [hop.strip() for hop in forwarded_for.split(",")]
            client = self._client([_split_host_port(hop) for hop in hops if hop])
            proto = headers.get("X-FORWARDED-PROTO")
            if proto is not None:
                scheme = _scheme(proto.rsplit(",", 1)[-1], scheme)
            return client or peer, scheme
        forwarded = headers.get("FORWARDED")
        if forwarded is not None:
            elements = parse_forwarded(forwarded)
            addresses = [_split_host_port(element.get("for", "")) for element in elements]
            index = self._index(addresses)
            if index is None:
                return peer, scheme
            proto = elements[index].get("proto")
            return addresses[index] or peer, _scheme(proto, scheme) if proto else scheme
        proto = headers.get("X-FORWARDED-PROTO")
        if proto is not None:
            scheme = _scheme(proto.rsplit(",", 1)[-1], scheme)
        return peer, scheme

    def _client(self, addresses: list[Address | None]) -> Address | None:
        index = self._index(addresses)
        return None if index is None else addresses[index]

    def _index(self, addresses: list[Address | None]) -> int | None:
        """The rightmost untrusted hop (the leftmost if all are trusted)."""
        for index in range(len(addresses) - 1, -1, -1):
            address = addresses[index]
            if address is None or not self.trusts(address[0]):
                return index
        return 0 if addresses else None


def _in_networks(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def _scheme(value: str, default: str) -> str:
    """The scheme, "http" or "https" (a websocket's "ws"/"wss" counts as such); else `default`."""
    return SCHEMES.get(value.strip().lower(), default)


def _split_host_port(value: str) -> Address | None:
    """'1.2.3.4', '1.2.3.4:80', '[::1]:80', '::1' → (host, port); port 0 when absent."""
    value = value.strip().strip('"')
    if not value or value.lower() == "unknown" or value.startswith("_"):
        return None  # RFC 7239: unknown or obfuscated
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() and len(port) <= 5 else 0


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """RFC 7239 `Forwarded`: one dict per element (lowercase keys, unquoted values)."""
    elements: list[dict[str, str]] = []
    pairs: dict[str, str] = {}
    key = ""
    token: list[str] = []
    quoted = escaped = False

    def end_pair() -> None:
        nonlocal key
        text = "".join(token).strip()
        if key:
            pairs.setdefault(key.strip().lower(), text)
        token.clear()
        key = ""

    for char in value:
        if quoted:
            if escaped:
                token.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            else:
                token.append(char)
        elif char == '"':
            quoted = True
        elif char == "=" and not key:
            key = "".join(token)
            token.clear()
        elif char == ";":
            end_pair()
        elif char == ",":
            end_pair()
            elements.append(pairs)
            pairs = {}
        else:
            token.append(char)
    end_pair()
    elements.append(pairs)
    return elements
