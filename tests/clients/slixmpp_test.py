"""Debian's python3-slixmpp against a running Parley node over STARTTLS:
two clients log in, one sends a message, the other must receive it."""
import asyncio
import sys

import parley_xmpp
from parley_xmpp import ALICE, BOB, PASSWORD_A, PASSWORD_B


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password)
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
    await parley_xmpp.started(bob, alice)
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
