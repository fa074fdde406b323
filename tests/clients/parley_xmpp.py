"""Shared setup of the slixmpp scripts: where the node listens and a client
that trusts its self-signed certificate and connects over STARTTLS."""
import asyncio
import os
import ssl
import struct
import zlib

import slixmpp

HOST = "127.0.0.1"
PORT = int(os.environ["PARLEY_C2S_PORT"])
DOMAIN = os.environ["PARLEY_DOMAIN"]
ALICE, BOB = os.environ["PARLEY_ALICE_JID"], os.environ["PARLEY_BOB_JID"]
PASSWORD_A, PASSWORD_B = os.environ["PARLEY_ALICE_PASSWORD"], os.environ["PARLEY_BOB_PASSWORD"]


class Client(slixmpp.ClientXMPP):
    """A test node's client; subclasses add handlers."""

    def __init__(self, jid, password, plugins=()):
        super().__init__(jid, password)
        for p in plugins:
            self.register_plugin(p)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE

    def start(self):
        self.connect(address=(HOST, PORT), force_starttls=True)


async def started(*clients, seconds=20):
    """Connects the clients and waits (bounded) until each sets its ready event."""
    for c in clients:
        c.start()
    await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), seconds)


def subscription(client, jid):
    """The subscription state of jid on client's roster, None if absent."""
    return client.client_roster[jid]["subscription"] if jid in client.client_roster else None


async def until(what, check, seconds=10):
    """Waits (bounded) until check() holds."""
    for _ in range(seconds * 20):
        if check():
            return
        await asyncio.sleep(0.05)
    raise SystemExit("timed out: " + what)


async def first(what, queue, match, seconds=10):
    """The first item on queue that match() accepts, skipping others, within seconds."""
    async def scan():
        while True:
            item = await queue.get()
            if match(item):
                return item
    try:
        return await asyncio.wait_for(scan(), seconds)
    except asyncio.TimeoutError:
        raise SystemExit("timed out: " + what)


def png(width, height):
    """A small valid grey PNG, so the server's content checks pass."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + os.urandom(width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
