"""Debian's python3-slixmpp keeps bookmarks (XEP-0048) in Private XML
Storage (XEP-0049): Alice stores them, reads them back on a new session,
and Bob cannot read Alice's."""
import asyncio

from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0048 import Bookmarks

import parley_xmpp
from parley_xmpp import ALICE, BOB, PASSWORD_A, PASSWORD_B


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password, plugins=["xep_0049", "xep_0048"])
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", lambda _: self.ready.set())


async def session(jid, password):
    c = Client(jid, password)
    await parley_xmpp.started(c)
    return c


async def main():
    alice = await session(ALICE, PASSWORD_A)
    marks = Bookmarks()
    marks.add_conference("team@muc." + parley_xmpp.DOMAIN, "alice", name="The team", autojoin=True)
    marks.add_url("https://example.com/", name="Example")
    await alice["xep_0048"].set_bookmarks(marks, timeout=10)
    alice.disconnect()

    again = await session(ALICE, PASSWORD_A)
    got = (await again["xep_0048"].get_bookmarks(timeout=10))["private"]["bookmarks"]
    confs = got["conferences"]
    assert len(confs) == 1 and str(confs[0]["jid"]) == "team@muc." + parley_xmpp.DOMAIN and confs[0]["autojoin"], got
    assert got["urls"][0]["url"] == "https://example.com/", got

    bob = await session(BOB, PASSWORD_B)
    iq = bob.make_iq_get(ito=ALICE)
    iq["private"].enable("bookmarks")
    try:
        await iq.send(timeout=10)
        raise SystemExit("bob read alice's private storage")
    except IqError as e:
        assert e.iq["error"]["condition"] == "forbidden", e.iq
    for c in (again, bob):
        c.disconnect()
    print("slixmpp private storage: 3 passed, 0 failed")


asyncio.run(main())
