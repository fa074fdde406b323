"""Debian's python3-slixmpp runs a room (XEP-0045): Alice creates it by
joining, configures it members-only, makes Bob a member; Bob joins with his
own nickname, they talk, and Alice kicks Bob, then bans him."""
import asyncio

import slixmpp

import parley_xmpp
from parley_xmpp import ALICE, BOB, DOMAIN, PASSWORD_A, PASSWORD_B

ROOM = "slixroom@muc." + DOMAIN


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password, plugins=["xep_0045"])
        self.ready = asyncio.Event()
        self.said = asyncio.Queue()
        self.gone = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("groupchat_message", lambda m: self.said.put_nowait(m) if m["body"] else None)
        self.add_event_handler("muc::%s::presence" % ROOM, self.on_room_presence)

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()

    def on_room_presence(self, p):
        if p["type"] == "unavailable":
            self.gone.put_nowait(p)


async def main():
    alice, bob = Client(ALICE, PASSWORD_A), Client(BOB, PASSWORD_B)
    await parley_xmpp.started(alice, bob)
    muc_a, muc_b = alice.plugin["xep_0045"], bob.plugin["xep_0045"]

    pres, _, _, _ = await muc_a.join_muc_wait(ROOM, "alice", timeout=10)
    codes = [s.get("code") for s in pres.xml.iter("{http://jabber.org/protocol/muc#user}status")]
    assert "201" in codes, codes  # the room was created by this join
    form = await muc_a.get_room_config(ROOM)
    form.get_fields()["muc#roomconfig_membersonly"]["value"] = True
    await muc_a.set_room_config(ROOM, form)
    await muc_a.set_affiliation(ROOM, "member", jid=slixmpp.JID(BOB))

    bob_pres, _, _, _ = await muc_b.join_muc_wait(ROOM, "bob", timeout=10)
    assert bob_pres["from"].resource == "bob", bob_pres  # his own nickname
    assert muc_b.get_jid_property(ROOM, "alice", "affiliation") == "owner", muc_b.get_roster(ROOM)
    alice.send_message(mto=ROOM, mbody="welcome bob", mtype="groupchat")
    while (m := await asyncio.wait_for(bob.said.get(), 10))["body"] != "welcome bob":
        pass
    assert m["from"].resource == "alice", m
    bob.send_message(mto=ROOM, mbody="thanks alice", mtype="groupchat")
    while (m := await asyncio.wait_for(alice.said.get(), 10))["body"] != "thanks alice":
        pass
    assert m["from"].resource == "bob", m

    await muc_a.set_role(ROOM, "bob", "none", reason="a kick")
    await asyncio.wait_for(bob.gone.get(), 10)
    await muc_b.join_muc_wait(ROOM, "bob", timeout=10)
    await muc_a.set_affiliation(ROOM, "outcast", jid=slixmpp.JID(BOB), reason="a ban")
    await asyncio.wait_for(bob.gone.get(), 10)
    try:
        await muc_b.join_muc_wait(ROOM, "bob", timeout=10)
        raise SystemExit("a banned user joined again")
    except slixmpp.exceptions.PresenceError:
        pass
    for c in (alice, bob):
        c.disconnect()
    print("slixmpp muc: 8 passed, 0 failed")


asyncio.run(main())
