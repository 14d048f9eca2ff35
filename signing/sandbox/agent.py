"""The sandbox signing agent: a stand-in for NCALayer on the citizen's computer.

Run it next to the sandbox portal:

    python -m signing.sandbox.agent                       # ws://127.0.0.1:13579, keys of instance/pki
    python -m signing.sandbox.agent --port 0              # any free port (printed on stdout)
    python -m signing.sandbox.agent --iin 900517401370    # sign as another holder
    python -m signing.sandbox.agent --kind auth           # sign with the authentication key
    python -m signing.sandbox.agent --variant revoked     # ... with a revoked (expired, not-yet-valid) key
    python -m signing.sandbox.agent --key-file other.p12 --password Qwerty12
    python -m signing.sandbox.agent --cancel              # the citizen presses Cancel
    python -m signing.sandbox.agent --respond-with gost-signed-sample.xml

It speaks NCALayer's WebSocket protocol (see `signing.sandbox.ncalayer`), so the
portal's browser code (npm `ncalayer-js-client`) works against it unchanged.
It listens on 127.0.0.1 only unless told otherwise, with plain `ws://` (the
sandbox portal's Content-Security-Policy allows `ws://127.0.0.1:13579`), or
`wss://` when given a certificate. It prints one line, `Sandbox signing
agent listening on ws://HOST:PORT`, then logs each request (method, key
serial, outcome; never the XML or a password) to stderr, and stops on
SIGINT or SIGTERM.

Tests use `run_in_thread(port=0, ...)`, which returns a handle with `.url`,
`.port` and `.stop()`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from signing.sandbox.ncalayer import (
    GREETING,
    HEARTBEAT,
    KINDS,
    VARIANTS,
    AgentOptions,
    NCALayerProtocol,
    common_error,
    dumps,
    log,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PKI_DIR = REPO_ROOT / "instance" / "pki"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 13579  # NCALayer's port
MAX_MESSAGE = 64 * 1024 * 1024  # documents to sign can be large


def _url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def tls_context(certificate: Path | str, key: Path | str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate), str(key))
    return context


def make_handler(protocol: NCALayerProtocol):
    """The per-connection coroutine: greet, then answer one request at a time."""

    async def handler(connection: ServerConnection) -> None:
        try:
            await connection.send(GREETING)
            async for message in connection:  # sequential: the next frame waits for this reply
                text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
                if text == HEARTBEAT:
                    await connection.send(HEARTBEAT)
                    continue
                try:
                    # Off the event loop: opening a key file costs tens of ms.
                    reply = await asyncio.to_thread(protocol.handle, text)
                except Exception as error:  # a bug here must not cost the citizen the connection
                    log.exception("request failed")
                    reply = dumps(common_error(f"java.lang.RuntimeException: {type(error).__name__}: {error}"))
                await connection.send(reply)
        except ConnectionClosed:
            pass

    return handler


async def run_server(
    protocol: NCALayerProtocol,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    ssl_context: ssl.SSLContext | None = None,
    stop: asyncio.Event,
    on_ready=None,
) -> None:
    """Serve until `stop` is set; `on_ready(url, port)` once listening."""
    async with serve(
        make_handler(protocol),
        host,
        port,
        ssl=ssl_context,
        max_size=MAX_MESSAGE,
        # NCALayer answers pages from any origin; so does its stand-in.
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        url = _url("wss" if ssl_context else "ws", host, bound)
        if on_ready is not None:
            on_ready(url, bound)
        await stop.wait()


# ---------------------------------------------------------------------------
# In a thread, for tests and the portal's browser tests
# ---------------------------------------------------------------------------


@dataclass
class AgentHandle:
    """A running agent: `.url` (ws://127.0.0.1:PORT), `.port`, `.stop()`; a context manager."""

    url: str
    port: int
    host: str
    _loop: asyncio.AbstractEventLoop
    _stop: asyncio.Event
    _thread: threading.Thread

    def stop(self, timeout: float = 10) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)

    def __enter__(self) -> AgentHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def run_in_thread(
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    pki_dir: Path | str | None = None,
    iin: str | None = None,
    key_file: Path | str | None = None,
    password: str | None = None,
    kind: str | None = None,
    variant: str = "normal",
    cancel: bool = False,
    respond_with: Path | str | None = None,
    tls_cert: Path | str | None = None,
    tls_key: Path | str | None = None,
) -> AgentHandle:
    """Start an agent in a daemon thread (port 0: a free port); options mirror the CLI.

    Raises at once for a missing PKI or key file, like the CLI does.
    """
    if pki_dir is None and key_file is None:
        pki_dir = DEFAULT_PKI_DIR
    options = AgentOptions(
        pki_dir=pki_dir,
        iin=iin,
        key_file=key_file,
        password=password,
        kind=kind,
        variant=variant,
        cancel=cancel,
        respond_with=respond_with,
    )
    protocol = NCALayerProtocol(options)
    ssl_context = tls_context(tls_cert, tls_key) if tls_cert else None

    ready = threading.Event()
    state: dict = {}

    def main() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        state["loop"], state["stop"] = loop, stop

        def on_ready(url: str, bound: int) -> None:
            state["url"], state["port"] = url, bound
            ready.set()

        try:
            loop.run_until_complete(
                run_server(protocol, host=host, port=port, ssl_context=ssl_context, stop=stop, on_ready=on_ready)
            )
        except BaseException as error:  # noqa: BLE001 - reported to the starting thread
            state["error"] = error
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="sandbox-signing-agent", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in state:
        raise state["error"]
    if "url" not in state:
        raise RuntimeError("the sandbox signing agent did not start")
    return AgentHandle(state["url"], state["port"], host, state["loop"], state["stop"], thread)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m signing.sandbox.agent",
        description="Sandbox signing agent: answers the portal's NCALayer requests with sandbox keys.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 13579; 0 picks a free one)")
    parser.add_argument("--pki", type=Path, default=None, help=f"sandbox PKI directory (default {DEFAULT_PKI_DIR})")
    parser.add_argument("--iin", help="sign as this holder (IIN, or BIN for an organisation's key)")
    parser.add_argument("--key-file", type=Path, help="sign with this PKCS#12 file instead (any key)")
    parser.add_argument("--password", help="password of --key-file (default Qwerty12)")
    parser.add_argument("--kind", choices=KINDS, help="force the signing or the authentication key")
    parser.add_argument("--variant", choices=VARIANTS, default="normal", help="pick a broken key of the holder")
    parser.add_argument("--cancel", action="store_true", help="answer every request as the citizen pressing Cancel")
    parser.add_argument("--respond-with", type=Path, help="reply with this file's content as the signed XML")
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate: serve wss:// instead of ws://")
    parser.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.password and not args.key_file:
        parser.error("--password is the password of --key-file")
    return args


async def _main_async(protocol: NCALayerProtocol, args: argparse.Namespace, ssl_context) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    def on_ready(url: str, port: int) -> None:
        print(f"Sandbox signing agent listening on {url}", flush=True)

    await run_server(protocol, host=args.host, port=args.port, ssl_context=ssl_context, stop=stop, on_ready=on_ready)
    log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("websockets").setLevel(logging.WARNING)
    pki_dir = args.pki if args.pki is not None else (None if args.key_file else DEFAULT_PKI_DIR)
    try:
        options = AgentOptions(
            pki_dir=pki_dir,
            iin=args.iin,
            key_file=args.key_file,
            password=args.password,
            kind=args.kind,
            variant=args.variant,
            cancel=args.cancel,
            respond_with=args.respond_with,
        )
        protocol = NCALayerProtocol(options)
        ssl_context = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (OSError, ValueError) as error:
        print(f"signing agent: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main_async(protocol, args, ssl_context))
    except OSError as error:  # e.g. the port is taken (a real NCALayer running?)
        print(f"signing agent: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
