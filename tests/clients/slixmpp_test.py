"""Debian's python3-slixmpp against a running Parley node over STARTTLS:
two clients log in, one sends a message, the other must receive it."""
import asyncio
import os
import ssl
import sys

import slixmpp

HOST = "127.0.0.1"
PORT = int(os.environ["PARLEY_C2S_PORT"])
DOMAIN = os.environ["PARLEY_DOMAIN"]
ALICE, BOB = os.environ["PARLEY_ALICE_JID"], os.environ["PARLEY_BOB_JID"]
PASSWORD_A, PASSWORD_B = os.environ["PARLEY_ALICE_PASSWORD"], os.environ["PARLEY_BOB_PASSWORD"]


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.ready = asyncio.Event()
        self.got = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", lambda m: self.got.put_nowait(m))
        self.add_event_handler("failed_auth", lambda _: print("auth failed", file=sys.stderr))

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        self.ready.set()


async def main():
    bob = Client(BOB, PASSWORD_B)
    alice = Client(ALICE, PASSWORD_A)
    for c in (bob, alice):
        c.connect(address=(HOST, PORT), force_starttls=True)
    await asyncio.wait_for(asyncio.gather(bob.ready.wait(), alice.ready.wait()), 20)
    if not alice.is_connected() or not bob.is_connected():
        raise SystemExit("not connected")
    alice.send_message(mto=BOB, mbody="hello from slixmpp", mtype="chat")
    msg = await asyncio.wait_for(bob.got.get(), 10)
    assert msg["body"] == "hello from slixmpp", msg
    assert str(msg["from"]).startswith(ALICE + "/"), msg["from"]
    bob.send_message(mto=msg["from"], mbody="and back", mtype="chat")
    reply = await asyncio.wait_for(alice.got.get(), 10)
    assert reply["body"] == "and back", reply
    for c in (alice, bob):
        c.disconnect()
    print("slixmpp: 2 passed, 0 failed")


asyncio.run(main())
