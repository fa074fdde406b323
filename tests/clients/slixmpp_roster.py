"""Debian's python3-slixmpp: Alice asks to see Bob's presence, Bob approves
(slixmpp's default auto-authorize, and it asks back), both rosters end with
subscription "both", and a status change of Bob's reaches Alice."""
import asyncio

import parley_xmpp
from parley_xmpp import ALICE, BOB, PASSWORD_A, PASSWORD_B


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.ready = asyncio.Event()
        self.statuses = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("presence_available", lambda p: self.statuses.put_nowait((str(p["from"].bare), p["status"])))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.ready.set()


async def main():
    alice, bob = Client(ALICE, PASSWORD_A), Client(BOB, PASSWORD_B)
    await parley_xmpp.started(alice, bob)
    alice.send_presence_subscription(pto=BOB)
    await parley_xmpp.until("alice's roster shows bob with both", lambda: parley_xmpp.subscription(alice, BOB) == "both")
    await parley_xmpp.until("bob's roster shows alice with both", lambda: parley_xmpp.subscription(bob, ALICE) == "both")
    bob.send_presence(pstatus="in a meeting")
    await parley_xmpp.first("bob's status at alice", alice.statuses, lambda s: s == (BOB, "in a meeting"))
    for c in (alice, bob):
        c.disconnect()
    print("slixmpp roster: 3 passed, 0 failed")


asyncio.run(main())
