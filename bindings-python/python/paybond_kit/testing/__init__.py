"""Testing helpers: the Rust dev server (Gateway + Harbor + Signal) in-process on port 0.

::

    from paybond_kit.testing import LocalHarbor

    with LocalHarbor() as h:
        intent = h.create_intent(allowed_tools=["search"], amount_cents=500)
        ...

The pytest plugin (``paybond_kit.testing.pytest_plugin``, registered as a ``pytest11``
entry point) provides ``local_harbor`` and ``paybond_session`` fixtures.

:class:`HostileHarbor` is the opposite: a raw-socket Gateway + Harbor + Signal that answers one
route with a misbehaviour from a hostile corpus (redirects, duplicate JSON keys, lying framing,
endless bodies, echoed secrets, ...), for tests that prove a client fails closed.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Literal, Mapping, Sequence

from .. import _native
from ..types import DevIntent

__all__ = ["LocalHarbor", "HostileHarbor", "DevIntent", "FAULT_KINDS", "pending_completions"]

#: Fault kinds the dev server can inject (``add_fault(kind=...)``).
FAULT_KINDS = (
    "status",
    "latency",
    "drop",
    "drop_after",
    "truncate",
    "malformed",
    "wrong_tenant",
    "wrong_intent",
    "non_boolean_allow",
    "remove_field",
    "set_field",
)


class LocalHarbor:
    """The dev server, started in-process on free loopback ports.

    Use as ``with LocalHarbor() as h`` or ``async with LocalHarbor() as h`` (or
    :meth:`start` / :meth:`stop`). The API key belongs to a seeded sandbox tenant.
    """

    def __init__(
        self,
        *,
        jwt_ttl_seconds: int = 900,
        tenant_id: str = "tenant-dev",
        api_key: str | None = None,
        reservation_hold_seconds: int = 300,
    ) -> None:
        """Args:
            jwt_ttl_seconds: lifetime of the Harbor JWTs the Gateway mints.
            tenant_id: the seeded tenant.
            api_key: the seeded tenant's API key (default: a fresh random sandbox key).
            reservation_hold_seconds: how long an allow's reservation is held when the caller
                never completes it (then Harbor releases it), measured on the dev clock
                (:meth:`advance_clock`).
        """
        self._cfg = (jwt_ttl_seconds, tenant_id, api_key, reservation_hold_seconds)
        self._srv: _native.DevServer | None = None

    def start(self) -> LocalHarbor:
        """Start both listeners (idempotent)."""
        if self._srv is None:
            self._srv = _native.DevServer(*self._cfg)
        return self

    def stop(self) -> None:
        """Stop both listeners."""
        _native.settle_sync()  # background spend completions land first
        if self._srv is not None:
            self._srv.stop()
            self._srv = None

    @property
    def _s(self) -> _native.DevServer:
        if self._srv is None:
            raise RuntimeError("LocalHarbor is not running: use `with LocalHarbor() as h` or call start()")
        return self._srv

    @property
    def gateway_url(self) -> str:
        """Gateway base URL (``http://127.0.0.1:PORT``)."""
        return self._s.gateway_url

    @property
    def harbor_url(self) -> str:
        """Harbor base URL."""
        return self._s.harbor_url

    @property
    def api_key(self) -> str:
        """The seeded tenant's sandbox API key (a secret: not shown in ``repr``)."""
        return self._s.api_key

    @property
    def tenant_id(self) -> str:
        """The seeded tenant."""
        return self._s.tenant_id

    @property
    def signal_public_key_hex(self) -> str:
        """The key that signs Signal receipts."""
        return self._s.signal_public_key_hex

    def create_intent(
        self,
        *,
        allowed_tools: Sequence[str],
        amount_cents: int,
        payee_did: str | None = None,
        payee_pubkey: str | None = None,
        currency: str | None = None,
        deadline: str | None = None,
        token_ttl_seconds: int | None = None,
        max_spend_per_call_cents: int | None = None,
        predicate_dsl: Mapping[str, Any] | None = None,
        approval_threshold_cents: int | None = None,
        tenant_id: str | None = None,
    ) -> DevIntent:
        """Create a funded intent and its capability token.

        Without ``payee_pubkey`` the server makes a payee key and returns its seed
        (``payee_signing_seed_hex``) so tests can sign evidence. With
        ``approval_threshold_cents``, a call spending more than that gets
        ``approval_required`` until a reviewer decides it (:meth:`decide_approval`).

        Args:
            allowed_tools: the tools (Harbor operations) the intent allows.
            amount_cents: the funded amount.
            payee_did: the payee (default: a fresh ``did:payee:...``).
            payee_pubkey: the payee's Ed25519 public key (standard base64); without it the
                server makes the key pair.
            currency: default ``"usd"``.
            deadline: RFC 3339; past it verifies deny ``token_expired``.
            token_ttl_seconds: the capability token's lifetime.
            max_spend_per_call_cents: a per-call cap written into the token.
            predicate_dsl: the predicate evidence payloads are checked against.
            approval_threshold_cents: calls spending more need a reviewer's approval.
            tenant_id: another tenant of this server (default: the seeded one).

        Returns:
            The intent, its capability token and (without ``payee_pubkey``) the payee's seed.

        Raises:
            paybond_kit.PaybondError: the server refused the request (e.g. an unknown tenant).
        """
        req: dict[str, Any] = {"allowed_tools": list(allowed_tools), "amount_cents": amount_cents}
        for k, v in (
            ("payee_did", payee_did), ("payee_pubkey", payee_pubkey), ("currency", currency),
            ("deadline", deadline), ("token_ttl_seconds", token_ttl_seconds),
            ("max_spend_per_call_cents", max_spend_per_call_cents), ("predicate_dsl", predicate_dsl),
            ("approval_threshold_cents", approval_threshold_cents),
        ):
            if v is not None:
                req[k] = v
        return DevIntent._from_dict(self._s.create_intent(req, tenant_id))

    def add_fault(
        self,
        route: str,
        kind: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        latency_ms: int | None = None,
        count: int | None = None,
        probability: float | None = None,
        field: str | None = None,
        value: Any = None,
        method: str | None = None,
        body: Any = None,
    ) -> int:
        """Inject a fault on ``route`` (exact path, or a prefix ending in ``*``); returns its id.

        ``kind`` is one of :data:`FAULT_KINDS`. It fires for the next ``count`` requests
        (default 1), or with ``probability`` on every request until :meth:`clear_faults`.

        Args:
            route: ``/verify``, ``/intents/<id>/evidence``, ``/reputation/*``, ...
            kind: ``status``, ``latency``, ``drop``, ``drop_after``, ``truncate``, ``malformed``,
                ``wrong_tenant``, ``wrong_intent``, ``non_boolean_allow``, ``remove_field``, ``set_field``.
            status: the HTTP status of a ``status`` fault.
            retry_after: a ``Retry-After`` header value to send with it.
            latency_ms: the delay of a ``latency`` fault.
            count: how many requests it fires for (default 1).
            probability: fire at random with this probability instead, until cleared.
            field: the dotted field path of ``remove_field`` / ``set_field`` (``receipt.score``).
            value: the value ``set_field`` writes.
            method: only requests with this HTTP method.
            body: the body of a ``status`` fault.

        Returns:
            The fault's id.

        Raises:
            ValueError: an unknown ``kind``.
        """
        _native.settle_sync()  # background spend completions land first
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind: expected one of {', '.join(FAULT_KINDS)}, got {kind!r}")
        spec: dict[str, Any] = {"route": route, "kind": kind}
        for k, v in (
            ("status", status), ("retry_after", retry_after), ("latency_ms", latency_ms), ("count", count),
            ("probability", probability), ("field", field), ("value", value), ("method", method), ("body", body),
        ):
            if v is not None:
                spec[k] = v
        return self._s.add_fault(spec)

    def clear_faults(self) -> None:
        """Remove every fault."""
        _native.settle_sync()  # background spend completions land first
        self._s.clear_faults()

    def faults(self) -> list[dict[str, Any]]:
        """The faults still in force."""
        _native.settle_sync()  # background spend completions land first
        return list(self._s.faults())

    def stats(self, tenant_id: str | None = None) -> dict[str, Any]:
        """Counters (exchanges, verifies, evidence accepted, ...) of one tenant (default: the seeded one)."""
        _native.settle_sync()  # background spend completions land first
        all_stats: dict[str, Any] = self._s.stats()
        return dict(all_stats["tenants"].get(tenant_id or self.tenant_id, {}))

    def all_stats(self) -> dict[str, Any]:
        """Per-tenant counters and totals."""
        _native.settle_sync()  # background spend completions land first
        return dict(self._s.stats())

    def create_tenant(self, tenant_id: str | None = None) -> tuple[str, str]:
        """Another tenant with a fresh API key: ``(tenant_id, api_key)``."""
        return self._s.create_tenant(tenant_id)

    def rebind_api_key(self, api_key: str, tenant_id: str) -> bool:
        """Make the Gateway name another tenant for ``api_key`` (tests of tenant-change handling)."""
        return self._s.rebind_api_key(api_key, tenant_id)

    def advance_clock(self, seconds: int) -> int:
        """Move the dev clock ahead by whole ``seconds`` (JWT expiry, deadlines, reservation
        holds are measured on it); returns how far ahead of real time it now is."""
        _native.settle_sync()  # background spend completions land first
        return self._s.advance_clock(seconds)

    def decide_approval(
        self, approval_request_id: str, decision: str, *, reason: str | None = None, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Decide an approval request as a reviewer would (``decision``: ``"approve"`` or ``"reject"``)."""
        _native.settle_sync()  # background spend completions land first
        if decision not in ("approve", "reject"):
            raise ValueError(f'decision: expected "approve" or "reject", got {decision!r}')
        out: dict[str, Any] = self._s.decide_approval(approval_request_id, decision == "approve", reason, tenant_id)
        return out

    def __enter__(self) -> LocalHarbor:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> LocalHarbor:
        return self.start()

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        if self._srv is None:
            return "LocalHarbor(stopped)"
        return f"LocalHarbor(gateway_url={self.gateway_url!r}, harbor_url={self.harbor_url!r}, tenant_id={self.tenant_id!r})"


class HostileHarbor:
    """A hostile Gateway + Harbor + Signal on one loopback port, serving a corpus of bad answers.

    ``corpus_path`` is a corpus file such as the repository's ``tests/scenarios/hostile.json``.
    Every request gets a good answer except those of the route the current case names
    (:meth:`set_case`). Use :attr:`url` as both the Gateway and the Harbor base URL and
    :attr:`api_key` as the key. Two more listeners count clients that go where they must not:
    :attr:`evil_url` (the target of every redirect the corpus sends) and :attr:`proxy_url` (an HTTP
    proxy answering a perfect allow); a fail-closed client never reaches either.

    Use as ``with HostileHarbor(path) as h`` (or ``async with``); :meth:`close` stops it.
    """

    def __init__(self, corpus_path: str | os.PathLike[str]) -> None:
        """Start the hostile server on loopback.

        Args:
            corpus_path: the corpus file (JSON), e.g. the repository's ``tests/scenarios/hostile.json``.

        Raises:
            paybond_kit.PaybondError: the corpus cannot be read or parsed.
        """
        self._s: _native.HostileServer | None = _native.HostileServer(os.fspath(corpus_path))

    @property
    def _h(self) -> _native.HostileServer:
        if self._s is None:
            raise RuntimeError("HostileHarbor was closed")
        return self._s

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the Gateway and Harbor base URL."""
        return self._h.url

    @property
    def evil_url(self) -> str:
        """The listener every redirect of the corpus points at (counts :meth:`evil_hits`)."""
        return self._h.evil_url

    @property
    def proxy_url(self) -> str:
        """A listener acting as an HTTP proxy that answers a perfect allow (counts :meth:`proxy_hits`)."""
        return self._h.proxy_url

    @property
    def api_key(self) -> str:
        """The API key to use (random per server; a secret the answers may echo)."""
        return self._h.api_key

    @property
    def jwt(self) -> str:
        """The Harbor JWT the good exchange hands out (random per server; a secret)."""
        return self._h.jwt

    @property
    def signal_public_key_hex(self) -> str:
        """The key that signs this server's Signal receipts."""
        return self._h.signal_public_key_hex

    def set_case(self, case_id: str | None, exchange_mode: Literal["every", "after_first"] = "every") -> None:
        """Serve ``case_id`` from now on (``None``: every answer good) and reset :meth:`hits`.

        For ``exchange`` cases, ``exchange_mode="after_first"`` makes the first exchange good; the
        next Harbor request then answers 401 once, so the client re-mints and gets the case's
        answer (how a guard meets a hostile exchange). Other routes ignore the mode.
        """
        _native.settle_sync()  # background spend completions land first
        self._h.set_case(case_id, exchange_mode)

    def evil_hits(self) -> int:
        """Requests the evil listener received since start (a redirect was followed)."""
        _native.settle_sync()  # background spend completions land first
        return self._h.evil_hits()

    def proxy_hits(self) -> int:
        """Requests the proxy listener received since start."""
        _native.settle_sync()  # background spend completions land first
        return self._h.proxy_hits()

    def hits(self, route: str) -> int:
        """Requests for ``route`` (``exchange``, ``verify``, ``evidence``, ``principal``,
        ``signal_receipt``, ``ledger_tip`` or ``other``) since the last :meth:`set_case`."""
        _native.settle_sync()  # background spend completions land first
        return self._h.hits(route)

    def case_ids(self) -> list[str]:
        """Every case id, in corpus order."""
        return self._h.case_ids()

    def case(self, case_id: str) -> dict[str, Any]:
        """``{id, class, route, expect_codes, secret_echo, raw}`` of one case (``KeyError`` if unknown)."""
        return self._h.case(case_id)

    def defaults(self) -> dict[str, Any]:
        """The corpus's test settings (``timeout_ms``, ``deadline_ms``, ``payee_seed_hex``, ...)."""
        return dict(self._h.defaults())

    def close(self) -> None:
        """Stop every listener and end open connections."""
        _native.settle_sync()  # background spend completions land first
        if self._s is not None:
            self._s.shutdown()
            self._s = None

    def __enter__(self) -> HostileHarbor:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> HostileHarbor:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return "HostileHarbor(closed)" if self._s is None else f"HostileHarbor(url={self.url!r})"


def pending_completions() -> int:
    """How many spend completions this process sent in the background (a successful call of an
    agent adapter) are still on their way; ``await binding.settle()`` waits for them."""
    return _native.pending_completions()
