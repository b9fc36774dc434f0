"""Every case of the hostile corpus (``tests/scenarios/hostile.json``, served over real TCP by
``paybond_kit.testing.HostileHarbor``) through the client and through every framework guard.

Levels per case:

- ``client``: the route's own call (session open for ``exchange`` / ``principal``, verify,
  evidence submission, ledger tip, Signal receipt);
- ``langgraph``: a real LangGraph ``ToolNode`` with the kit's ``awrap_tool_call`` (scripted model);
- ``create_agent``: ``langchain.agents.create_agent`` with the kit's middleware;
- ``openai_agents``: an OpenAI Agents run with the kit's tool input guardrail (scripted ``Model``).

The framework levels run every ``verify`` case and every ``exchange`` case (``after_first``: the
first exchange is good, the guard meets the hostile one on the re-mint after a 401); ``evidence``
cases go through the LangGraph / LangChain adapters' evidence path.

For every case and level: never an allow (the tool body never runs on a deny; for evidence the
hostile answer is never taken as a receipt), the run finishes (a deny ``ToolMessage`` / the
guardrail's rejection text reaches the model), the error or deny code is one the case lists, the
evil (redirect target) and proxy listeners get no request, the hostile route was requested, and no
secret (API key, Harbor JWT, capability token, or the first 16 characters of any) appears in
``str`` / ``repr`` / ``pickle`` of the error, the text the model sees, or any log record of the
kit's logging bridge. Failures are collected and reported together.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import pickle
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner, function_tool, set_tracing_disabled
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode

import paybond_kit as pk
from paybond_kit.langgraph import PaybondToolGuardMiddleware, paybond_awrap_tool_call
from paybond_kit.openai_agents import guard_function_tools
from paybond_kit.testing import HostileHarbor

from .scripted import ScriptedAgentsModel, langchain_model, tool_node_graph

set_tracing_disabled(True)

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "scenarios" / "hostile.json"
SLOTS = 8  # concurrent cases, one hostile server each
GUARD_ROUTES = ("verify", "exchange")
EVIDENCE_LEVELS = ("langgraph", "create_agent")
FRAMEWORK_LEVELS = ("langgraph", "create_agent", "openai_agents")
JOB_TIMEOUT = 30.0  # a hang becomes a failure, not a stuck suite

# Tool bodies record the run that called them (the run id travels in the tool arguments).
RAN: dict[str, int] = {}
RAN_LOCK = threading.Lock()


def ran(run_id: str) -> None:
    with RAN_LOCK:
        RAN[run_id] = RAN.get(run_id, 0) + 1


@tool
def search(q: str) -> str:
    """Search (guarded)."""
    ran(q)
    return f"results for {q}"


def agents_search_tool() -> Any:
    """A fresh OpenAI Agents tool per run (guardrails are attached to the tool object)."""

    @function_tool
    def agents_search(q: str) -> str:
        """Search (guarded)."""
        ran(q)
        return f"results for {q}"

    return agents_search


def random_token() -> str:
    """A standard-base64 capability token (~400 chars) with ``/`` and ``+`` in it (so the escaped
    and percent-encoded echoes differ from the raw form), but not in its first 16 characters."""
    while True:
        t = base64.b64encode(os.urandom(300)).decode()
        if "/" in t and "+" in t and not any(c in t[:16] for c in "/+"):
            return t


@dataclass
class Settings:
    options: dict[str, Any]
    deadline: float
    slack: float
    payee_did: str
    payee_seed_hex: str
    operator_did: str

    @classmethod
    def from_defaults(cls, d: dict[str, Any]) -> Settings:
        return cls(
            options=dict(
                timeout_seconds=d.get("timeout_ms", 500) / 1000,
                deadline_seconds=d.get("deadline_ms", 1500) / 1000,
                max_retries=d.get("max_retries", 2),
                max_retry_after_seconds=d.get("max_retry_after_ms", 1000) / 1000,
                max_response_bytes=d.get("max_response_bytes", 1 << 20),
            ),
            deadline=d.get("deadline_ms", 1500) / 1000,
            slack=d.get("elapsed_slack_ms", 2000) / 1000,
            payee_did=d.get("payee_did", "did:paybond:payee:hostile"),
            payee_seed_hex=d.get("payee_seed_hex", "07" * 32),
            operator_did=d.get("signal_operator_did", "did:paybond:operator:hostile"),
        )


@dataclass
class Outcome:
    """How one (case, level) ended."""

    accepted: str | None = None  # what must never happen (an allow, a hostile answer taken)
    code: str | None = None
    texts: list[str] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)
    call_seconds: float | None = None  # the guarded call alone, when it can be measured


class Records(logging.Handler):
    """Every record the kit's logging bridge (and its Python layer) emits during the module."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def error_texts(e: BaseException) -> tuple[list[str], list[bytes]]:
    return [str(e), repr(e)], [pickle.dumps(e)]


class Run:
    def __init__(self, h: HostileHarbor, case: dict[str, Any], level: str, st: Settings) -> None:
        self.h, self.case, self.level, self.st = h, case, level, st
        self.intent = str(uuid.uuid4())
        self.token = random_token()
        self.run_id = f"run-{uuid.uuid4().hex}"
        self.route: str = case["route"]

    async def session(self) -> pk.ServiceAccountHarborSession:
        return await pk.ServiceAccountHarborSession.open(
            gateway_base_url=self.h.url, api_key=self.h.api_key, harbor_base_url=self.h.url, **self.st.options
        )

    def binding(self, s: pk.ServiceAccountHarborSession, evidence: bool) -> pk.CapabilityBinding:
        kw: dict[str, Any] = {}
        if evidence:
            kw = {"payee_did": self.st.payee_did, "payee_signing_seed": self.st.payee_seed_hex}
        return pk.CapabilityBinding(s.harbor, self.intent, self.token, **kw)

    async def exercise(self) -> Outcome:
        if self.route == "exchange" and self.level == "client":
            self.h.set_case(self.case["id"], "every")
            try:
                s = await self.session()
            except pk.PaybondError as e:
                texts, blobs = error_texts(e)
                return Outcome(code=e.code, texts=texts, blobs=blobs)
            await s.aclose()
            return Outcome(accepted=f"session opened on a hostile exchange (tenant {s.tenant_id!r})")
        self.h.set_case(self.case["id"], "after_first" if self.route == "exchange" else "every")
        if self.level == "client":
            return await self.client()
        return await self.framework()

    async def client(self) -> Outcome:
        st = self.st
        if self.route in ("principal", "signal_receipt"):
            t0 = time.monotonic()
            try:
                sig = await pk.ServiceAccountSignalSession.open(gateway_base_url=self.h.url, api_key=self.h.api_key, **st.options)
            except pk.PaybondError as e:
                texts, blobs = error_texts(e)
                if self.route == "principal":
                    return Outcome(code=e.code, texts=texts, blobs=blobs, call_seconds=time.monotonic() - t0)
                raise AssertionError(f"setup: the Signal session did not open ({e.code}: {e})") from e
            if self.route == "principal":
                await sig.aclose()
                return Outcome(accepted=f"Signal session opened on a hostile principal ({sig.tenant_id!r})")
            try:
                t0 = time.monotonic()
                env = await sig.signal.reputation_receipt(st.operator_did)
                return Outcome(accepted=f"receipt accepted: {env!r}")
            except pk.PaybondError as e:
                texts, blobs = error_texts(e)
                return Outcome(code=e.code, texts=texts, blobs=blobs, call_seconds=time.monotonic() - t0)
            finally:
                await sig.aclose()
        s = await self.session()
        try:
            t0 = time.monotonic()
            if self.route in ("verify", "exchange"):
                r = await s.harbor.verify_capability(intent_id=self.intent, token=self.token, operation="search", requested_spend_cents=1)
                if r.allow:
                    return Outcome(accepted=f"allow: {r!r}")
                return Outcome(code="harbor_denied", texts=[repr(r), r.message or "", r.code or ""], call_seconds=time.monotonic() - t0)
            if self.route == "evidence":
                body = pk.sign_payee_evidence_binding(
                    tenant_id=s.tenant_id, intent_id=self.intent, payee_did=st.payee_did, payload={"result": "ok"},
                    submitted_at_rfc3339="2030-01-02T15:04:05Z", payee_signing_seed=st.payee_seed_hex,
                )
                t0 = time.monotonic()
                rec = await s.harbor.submit_evidence(self.intent, body)
                return Outcome(accepted=f"evidence accepted: {rec!r}")
            if self.route == "ledger_tip":
                tip = await s.harbor.ledger_tip()
                return Outcome(accepted=f"ledger tip accepted: {tip!r}")
            raise AssertionError(f"unknown route {self.route!r}")
        except pk.PaybondError as e:
            texts, blobs = error_texts(e)
            return Outcome(code=e.code, texts=texts, blobs=blobs, call_seconds=time.monotonic() - t0)
        finally:
            await s.aclose()

    async def framework(self) -> Outcome:
        evidence = self.route == "evidence"
        s = await self.session()
        try:
            b = self.binding(s, evidence)
            events: list[Any] = []
            if self.level == "openai_agents":
                return await self.openai_agents(b, events)
            ev = (lambda req, res: {"result": str(res.content)}) if evidence else None
            model = langchain_model([("search", {"q": self.run_id})])
            if self.level == "langgraph":
                node = ToolNode([search], awrap_tool_call=paybond_awrap_tool_call(b, requested_spend_cents=1, evidence=ev, on_decision=events.append))
                graph = tool_node_graph(node, model)
            else:
                mw = PaybondToolGuardMiddleware(b, requested_spend_cents=1, evidence=ev, on_decision=events.append)
                graph = create_agent(model, tools=[search], middleware=[mw])
            result = await graph.ainvoke({"messages": [{"role": "user", "content": "go"}]})
            if not (isinstance(result["messages"][-1], AIMessage) and result["messages"][-1].content == "done"):
                return Outcome(accepted=f"the run did not finish: {result['messages'][-1]!r}")
            msgs = [m for m in result["messages"] if isinstance(m, ToolMessage)]
            seen = [str(m.content) for turn in model.seen for m in turn if isinstance(m, ToolMessage)]
            return self.judge(events, msgs, seen)
        finally:
            await s.aclose()

    async def openai_agents(self, b: pk.CapabilityBinding, events: list[Any]) -> Outcome:
        tools = guard_function_tools([agents_search_tool()], b, requested_spend_cents=1, on_decision=events.append)
        model = ScriptedAgentsModel([("agents_search", {"q": self.run_id})])
        result = await Runner.run(Agent(name="hostile", model=model, tools=tools), "go")
        if result.final_output != "done":
            return Outcome(accepted=f"the run did not finish: {result.final_output!r}")
        if RAN.get(self.run_id):
            return Outcome(accepted="the tool body ran")
        seen = list(model.tool_outputs().values())
        if len(events) != 1 or events[0].decision.allowed:
            return Outcome(accepted=f"guard events {events!r}")
        d = events[0].decision
        if not all(t.startswith("Paybond denied agents_search: ") for t in seen) or not seen:
            return Outcome(accepted=f"the model did not see a rejection: {seen!r}")
        return Outcome(code=d.code, texts=[*seen, repr(d), d.message or ""])

    def judge(self, events: list[Any], msgs: list[ToolMessage], seen: list[str]) -> Outcome:
        texts = [*seen, *(str(m.content) for m in msgs), *(repr(e) for e in events)]
        if self.route == "evidence":
            # Verify is good here: the tool runs once; the hostile evidence answer is never a receipt.
            if RAN.get(self.run_id) != 1 or len(events) != 1 or not events[0].ran:
                return Outcome(accepted=f"evidence level: the allowed tool should run once (ran={RAN.get(self.run_id)}, events={events!r})")
            e = events[0]
            if e.evidence is not None or not e.evidence_error:
                return Outcome(accepted=f"hostile evidence answer accepted: {e.evidence!r}")
            code = e.evidence_error.split(":", 1)[0]
            return Outcome(code=code, texts=[*texts, e.evidence_error])
        if RAN.get(self.run_id):
            return Outcome(accepted="the tool body ran")
        if len(events) != 1 or events[0].ran or events[0].decision.allowed:
            return Outcome(accepted=f"guard events {events!r}")
        if len(msgs) != 1 or msgs[0].status != "error" or not str(msgs[0].content).startswith("Paybond denied search: "):
            return Outcome(accepted=f"no deny ToolMessage: {msgs!r}")
        if not any(t.startswith("Paybond denied search: ") for t in seen):
            return Outcome(accepted="the model never saw the deny")
        return Outcome(code=events[0].decision.code, texts=texts)


def levels(route: str) -> tuple[str, ...]:
    if route in GUARD_ROUTES:
        return ("client", *FRAMEWORK_LEVELS)
    if route == "evidence":
        return ("client", *EVIDENCE_LEVELS)
    return ("client",)


def secrets_of(h: HostileHarbor, run: Run) -> list[tuple[str, str]]:
    out = []
    for name, value in (("api key", h.api_key), ("Harbor JWT", h.jwt), ("capability token", run.token)):
        out += [(name, value), (f"{name} (first 16 chars)", value[:16])]
    return out


async def run_job(pool: asyncio.Queue[HostileHarbor], case: dict[str, Any], level: str, st: Settings,
                  all_secrets: set[str]) -> list[str]:
    h = await pool.get()
    tag = f"{case['id']} [{level}]"
    failures: list[str] = []
    try:
        run = Run(h, case, level, st)
        secrets = secrets_of(h, run)
        all_secrets.update(v for _, v in secrets)
        t0 = time.monotonic()
        try:
            out = await asyncio.wait_for(run.exercise(), JOB_TIMEOUT)
        except asyncio.TimeoutError:
            return [f"{tag}: HUNG (no answer within {JOB_TIMEOUT} s)"]
        except BaseException as e:  # noqa: BLE001 - anything escaping is a failure to report
            return [f"{tag}: raised {type(e).__name__}: {e}"]
        elapsed = time.monotonic() - t0
        if out.accepted is not None:
            failures.append(f"{tag}: ACCEPTED: {out.accepted}")
        elif out.code not in case["expect_codes"]:
            failures.append(f"{tag}: code {out.code!r} not in {case['expect_codes']}: {(out.texts or [''])[0][:300]}")
        for text in out.texts:
            for name, secret in secrets:
                if secret and secret in text:
                    failures.append(f"{tag}: the {name} leaks in {text[:200]!r}")
        for blob in out.blobs:
            for name, secret in secrets:
                if secret and secret.encode() in blob:
                    failures.append(f"{tag}: the {name} leaks in a pickle of the error")
        want = 2 if case["route"] == "exchange" and level != "client" else 1
        if h.hits(case["route"]) < want:
            failures.append(f"{tag}: route {case['route']} requested {h.hits(case['route'])} times (want >= {want})")
        if h.evil_hits():
            failures.append(f"{tag}: the evil listener got {h.evil_hits()} requests (a redirect was followed)")
        if h.proxy_hits():
            failures.append(f"{tag}: the proxy listener got {h.proxy_hits()} requests")
        if out.call_seconds is not None and out.call_seconds > st.deadline + st.slack:
            failures.append(f"{tag}: the call took {out.call_seconds:.2f} s (deadline {st.deadline} s + slack {st.slack} s)")
        if elapsed > 3 * (st.deadline + st.slack):
            failures.append(f"{tag}: the run took {elapsed:.2f} s")
        return failures
    finally:
        h.set_case(None)
        pool.put_nowait(h)


@dataclass
class CorpusRun:
    cases: list[dict[str, Any]]
    jobs: list[tuple[dict[str, Any], str]]
    failures: list[str]
    log_messages: list[str]
    secrets: set[str]
    seconds: float


async def run_corpus() -> CorpusRun:
    servers = [HostileHarbor(CORPUS) for _ in range(SLOTS)]
    handler = Records()
    log = logging.getLogger("paybond_kit")
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    pk.set_log_level(logging.DEBUG)
    try:
        cases = [servers[0].case(i) for i in servers[0].case_ids()]
        st = Settings.from_defaults(servers[0].defaults())
        pool: asyncio.Queue[HostileHarbor] = asyncio.Queue()
        for h in servers:
            pool.put_nowait(h)
        all_secrets: set[str] = set()
        jobs = [(c, lvl) for c in cases for lvl in levels(c["route"])]
        started = time.monotonic()
        results = await asyncio.gather(*(run_job(pool, c, lvl, st, all_secrets) for c, lvl in jobs))
        seconds = time.monotonic() - started
    finally:
        pk.set_log_level(logging.WARNING)
        log.setLevel(old_level)
        log.removeHandler(handler)
        for h in servers:
            h.close()
    failures = sorted(f for r in results for f in r)
    return CorpusRun(cases, jobs, failures, handler.messages, all_secrets, seconds)


@pytest.fixture(scope="module")
def corpus_run() -> CorpusRun:
    """The whole corpus, every level, run once for this module (on its own event loop)."""
    return asyncio.run(run_corpus())


def test_every_hostile_case_fails_closed(corpus_run: CorpusRun) -> None:
    r = corpus_run
    assert len(r.cases) >= 80, f"only {len(r.cases)} corpus cases"
    per_level: dict[str, int] = {}
    for _, lvl in r.jobs:
        per_level[lvl] = per_level.get(lvl, 0) + 1
    print(f"\nhostile corpus: {len(r.cases)} cases, {len(r.jobs)} runs {per_level} in {r.seconds:.1f} s")
    assert per_level["client"] == len(r.cases)
    assert not r.failures, f"{len(r.failures)} failures:\n" + "\n".join(r.failures)


def test_no_secret_in_log_records(corpus_run: CorpusRun) -> None:
    r = corpus_run
    assert r.log_messages, "the logging bridge forwarded nothing"
    leaks = []
    for msg in r.log_messages:
        for secret in r.secrets:
            if secret in msg:
                leaks.append(msg[:300])
                break
    assert not leaks, f"{len(leaks)} of {len(r.log_messages)} log records carry a secret:\n" + "\n".join(leaks[:20])


async def test_environment_proxies_are_ignored_and_proxy_url_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with HostileHarbor(CORPUS) as h:
        opts = Settings.from_defaults(h.defaults()).options
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(var, h.proxy_url)
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        intent, token = str(uuid.uuid4()), random_token()

        async def verify(**extra: Any) -> pk.VerifyResult:
            async with await pk.ServiceAccountHarborSession.open(
                gateway_base_url=h.url, api_key=h.api_key, harbor_base_url=h.url, **opts, **extra
            ) as s:
                return await s.harbor.verify_capability(intent_id=intent, token=token, operation="search", requested_spend_cents=1)

        assert (await verify()).allow  # the main listener's good answer, not the proxy's
        assert h.proxy_hits() == 0, "an environment proxy was used"
        assert h.hits("verify") == 1
        # An explicit proxy_url is honoured: the proxy listener (which answers allow) sees the calls.
        h.set_case(None)
        assert (await verify(proxy_url=h.proxy_url)).allow
        assert h.proxy_hits() > 0 and h.hits("verify") == 0
        # The proxy URL passes the same policy as base URLs.
        with pytest.raises(pk.PaybondError) as e:
            await verify(proxy_url="ftp://proxy.example.com")
        assert e.value.code in ("insecure_url", "invalid_argument")


def test_hostile_harbor_helper() -> None:
    with HostileHarbor(CORPUS) as h:
        assert h.url.startswith("http://127.0.0.1:") and h.evil_url != h.url != h.proxy_url
        ids = h.case_ids()
        c = h.case(ids[0])
        assert set(c) == {"id", "class", "route", "expect_codes", "secret_echo", "raw"} and c["id"] == ids[0]
        with pytest.raises(KeyError):
            h.case("no-such-case")
        with pytest.raises(ValueError):
            h.set_case("no-such-case")
        with pytest.raises(ValueError):
            h.set_case(ids[0], "sometimes")  # type: ignore[arg-type]
        assert h.api_key not in repr(h) and (h.evil_hits(), h.proxy_hits(), h.hits("verify")) == (0, 0, 0)
    assert "closed" in repr(h)

