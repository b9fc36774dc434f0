"""``paybond-mcp-proxy``: a guarding stdio proxy in front of any stdio MCP server.

::

    export PAYBOND_API_KEY=...            # never on the command line
    export PAYBOND_CAPABILITY_TOKEN=...   # or --capability-token-file PATH
    paybond-mcp-proxy --gateway-url https://gateway... --harbor-url https://harbor... \\
        --intent-id 7c0e... --spend-cents 0 --tool-spend book_hotel=300 -- python my_server.py

The proxy starts the upstream command, forwards ``tools/list`` unchanged, and verifies every
``tools/call`` with the one configured binding before forwarding it; the upstream result is
returned unchanged. A tool the upstream does not list (after one fresh listing) is denied
(``unknown_tool``) without asking Harbor or the upstream; every deny is a tool error result
(``isError: true``). Allowed calls are completed (consumed / released) when the upstream
answers. The upstream gets only the MCP SDK's default safe environment plus the variables named
by ``--pass-env``: never the API key or the token. Logs go to stderr without secrets.

Flags and their environment variables: ``--gateway-url`` (``PAYBOND_GATEWAY_URL``),
``--harbor-url`` (``PAYBOND_HARBOR_URL``), ``--intent-id`` (``PAYBOND_INTENT_ID``),
``--capability-token-file`` (else ``PAYBOND_CAPABILITY_TOKEN``), ``PAYBOND_API_KEY`` (env only).
Requires ``pip install "paybond-kit[mcp]"``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable, Mapping, Sequence

try:
    import anyio
    import mcp_types as _types
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, get_default_environment
    from mcp.server import Server
    from mcp.server.stdio import stdio_server
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError('paybond-mcp-proxy needs the mcp SDK 2.x: pip install "paybond-kit[mcp]"') from exc

from .._guard import GuardEvent
from ..client import CapabilityBinding, ServiceAccountHarborSession
from ..errors import PaybondError, _invalid_argument
from . import McpGuard, McpToolCall, SpendSpec
from .server import deny_result, is_error_result

__all__ = ["build_proxy_server", "run_proxy", "main"]

logger = logging.getLogger("paybond_kit")

_MAX_PAGES = 100


def build_proxy_server(
    upstream: Client,
    binding: CapabilityBinding,
    *,
    requested_spend_cents: SpendSpec = 0,
    on_decision: Callable[[GuardEvent], None] | None = None,
    name: str = "paybond-mcp-proxy",
) -> Server[Any]:
    """A low-level MCP ``Server`` that fronts ``upstream`` (an entered ``mcp.Client``).

    ``tools/list`` is forwarded page by page; ``tools/call`` is verified with ``binding`` and
    forwarded only after an allow, for tools the upstream lists (one fresh listing on a miss).

    Args:
        upstream: a connected ``mcp.Client`` (``async with Client(...) as upstream``).
        binding: the :class:`~paybond_kit.CapabilityBinding` every call spends from.
        requested_spend_cents: an ``int`` or ``(McpToolCall) -> int``.
        on_decision: optional ``(GuardEvent) -> None``.
        name: the server name announced to clients.

    Raises:
        InvalidArgumentError: a missing binding or a bad option.
    """
    if not isinstance(binding, CapabilityBinding):
        raise _invalid_argument("binding", "a paybond_kit.CapabilityBinding is required")
    guard = McpGuard(binding, requested_spend_cents=requested_spend_cents, on_decision=on_decision, tools=())
    listed: set[str] = set()

    async def refresh() -> None:
        names: set[str] = set()
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await upstream.list_tools(cursor=cursor, cache_mode="refresh")
            names.update(t.name for t in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        listed.clear()
        listed.update(names)
        guard.set_tools(listed)

    async def on_list_tools(ctx: Any, params: _types.PaginatedRequestParams | None) -> _types.ListToolsResult:
        cursor = params.cursor if params is not None else None
        page = await upstream.list_tools(cursor=cursor, cache_mode="refresh")
        if cursor is None:
            listed.clear()
        listed.update(t.name for t in page.tools)
        guard.set_tools(listed)
        return page

    async def on_call_tool(ctx: Any, params: _types.CallToolRequestParams) -> _types.CallToolResult:
        if params.name not in listed:
            try:
                await refresh()
            except Exception as e:  # fail closed: no listing, no call
                logger.warning("paybond-mcp-proxy: listing the upstream's tools failed: %s", type(e).__name__)
                guard.set_tools(())
        args = dict(params.arguments or {})
        return await guard.call(
            params.name, args, None, lambda: upstream.call_tool(params.name, args), deny_result, is_error_result
        )

    return Server(name, on_list_tools=on_list_tools, on_call_tool=on_call_tool)


async def run_proxy(
    command: Sequence[str],
    *,
    gateway_base_url: str,
    harbor_base_url: str,
    api_key: str,
    intent_id: str,
    capability_token: str,
    requested_spend_cents: SpendSpec = 0,
    pass_env: Sequence[str] = (),
    cwd: str | None = None,
) -> None:
    """Open a session, start ``command`` as the upstream and serve the proxy on this process's stdio.

    Args:
        command: the upstream server's argv (``["python", "server.py"]``).
        gateway_base_url, harbor_base_url, api_key: the Paybond session.
        intent_id, capability_token: the one capability every call spends from.
        requested_spend_cents: an ``int`` or ``(McpToolCall) -> int``.
        pass_env: names of environment variables to hand to the upstream, besides the MCP SDK's
            safe defaults.
        cwd: the upstream's working directory.

    Raises:
        InvalidArgumentError: an empty command; the session's errors
        (:class:`~paybond_kit.GatewayAuthError`, :class:`~paybond_kit.InsecureUrlError`, ...)
        when it cannot open; ``OSError`` when the upstream cannot start.
    """
    if not command:
        raise _invalid_argument("command", "the upstream MCP server command is missing (put it after --)")
    env = get_default_environment()
    for k in pass_env:
        if k in os.environ:
            env[k] = os.environ[k]
    params = StdioServerParameters(command=command[0], args=list(command[1:]), env=env, cwd=cwd)
    async with await ServiceAccountHarborSession.open(
        gateway_base_url=gateway_base_url, api_key=api_key, harbor_base_url=harbor_base_url
    ) as session:
        binding = CapabilityBinding(session.harbor, intent_id, capability_token)
        async with Client(params) as upstream:
            server = build_proxy_server(upstream, binding, requested_spend_cents=requested_spend_cents)
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())


def _spend_spec(default: int, per_tool: Mapping[str, int]) -> SpendSpec:
    if not per_tool:
        return default

    def spend(call: McpToolCall) -> int:
        return per_tool.get(call.tool_name, default)

    return spend


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paybond-mcp-proxy",
        description="Guard a stdio MCP server: every tools/call is verified by Paybond Harbor before it is forwarded.",
        epilog="The API key is read from PAYBOND_API_KEY and the capability token from PAYBOND_CAPABILITY_TOKEN "
               "(or --capability-token-file); neither is ever accepted on the command line.",
    )
    env = os.environ.get
    p.add_argument("--gateway-url", default=env("PAYBOND_GATEWAY_URL"), help="Gateway base URL (PAYBOND_GATEWAY_URL)")
    p.add_argument("--harbor-url", default=env("PAYBOND_HARBOR_URL"), help="Harbor base URL (PAYBOND_HARBOR_URL)")
    p.add_argument("--intent-id", default=env("PAYBOND_INTENT_ID"), help="intent to spend from (PAYBOND_INTENT_ID)")
    p.add_argument("--capability-token-file", help="file holding the capability token (else PAYBOND_CAPABILITY_TOKEN)")
    p.add_argument("--spend-cents", type=int, default=0, help="spend requested per call (default 0)")
    p.add_argument("--tool-spend", action="append", default=[], metavar="TOOL=CENTS",
                   help="spend for one tool (repeatable); others use --spend-cents")
    p.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                   help="environment variable to hand to the upstream (repeatable)")
    p.add_argument("--cwd", help="working directory of the upstream")
    p.add_argument("--log-level", default="WARNING", help="stderr log level (default WARNING)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the upstream command and its arguments")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The ``paybond-mcp-proxy`` console script. Returns the exit status (2: bad configuration)."""
    p = _parser()
    ns = p.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, str(ns.log_level).upper(), logging.WARNING))
    command = list(ns.command)
    if command and command[0] == "--":
        command = command[1:]
    missing = [flag for flag, v in (("--gateway-url", ns.gateway_url), ("--harbor-url", ns.harbor_url),
                                    ("--intent-id", ns.intent_id)) if not v]
    api_key = os.environ.get("PAYBOND_API_KEY")
    if not api_key:
        missing.append("PAYBOND_API_KEY")
    token: str | None
    if ns.capability_token_file:
        try:
            with open(ns.capability_token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as e:
            print(f"paybond-mcp-proxy: cannot read --capability-token-file: {e.strerror}", file=sys.stderr)
            return 2
    else:
        token = os.environ.get("PAYBOND_CAPABILITY_TOKEN")
    if not token:
        missing.append("PAYBOND_CAPABILITY_TOKEN (or --capability-token-file)")
    if not command:
        missing.append("the upstream command after --")
    per_tool: dict[str, int] = {}
    for item in ns.tool_spend:
        tool, sep, cents = item.partition("=")
        if not sep or not tool or not cents.isdigit():
            print(f"paybond-mcp-proxy: --tool-spend expects TOOL=CENTS, got {item!r}", file=sys.stderr)
            return 2
        per_tool[tool] = int(cents)
    if missing:
        print(f"paybond-mcp-proxy: missing {', '.join(missing)}", file=sys.stderr)
        return 2
    assert api_key is not None and token is not None
    try:
        anyio.run(lambda: run_proxy(
            command, gateway_base_url=ns.gateway_url, harbor_base_url=ns.harbor_url, api_key=api_key,
            intent_id=ns.intent_id, capability_token=token, requested_spend_cents=_spend_spec(ns.spend_cents, per_tool),
            pass_env=ns.pass_env, cwd=ns.cwd,
        ))
    except PaybondError as e:  # the core scrubs secrets from its messages
        print(f"paybond-mcp-proxy: {e.code}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"paybond-mcp-proxy: cannot start the upstream {command[0]!r}: {e.strerror or type(e).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
