"""Debian's python3-slixmpp pages Bob's 1-1 archive and a room's archive
with MAM (XEP-0313) and must find the messages the ConnectyCube SDK sent,
under the ids the SDK gave them (the REST _id); then it joins the SDK's
group dialog as a MUC room (XEP-0045) and gets that message as history."""
import asyncio
import os
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import parley_xmpp
from parley_xmpp import BOB, PASSWORD_B as PASSWORD

ONE, GROUP, ROOM = os.environ["MAM_ONE_ID"], os.environ["MAM_GROUP_ID"], os.environ["MAM_ROOM"]
NS = "urn:xmpp:mam:2"


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password, plugins=["xep_0045"])
        self.ready = asyncio.Event()
        self.results = {}
        self.add_event_handler("session_start", self.on_start)
        self.register_handler(Callback("MAM result", MatchXPath("{jabber:client}message/{%s}result" % NS), self.on_message))

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()

    def on_message(self, msg):
        r = msg.xml.find("{%s}result" % NS)
        if r is not None:
            self.results.setdefault(r.get("queryid"), []).append(r.get("id"))

    async def query(self, to, qid, max_items):
        iq = self.make_iq_set(ito=to)
        iq.append(ET.fromstring(
            '<query xmlns="%s" queryid="%s"><set xmlns="http://jabber.org/protocol/rsm"><max>%d</max></set></query>'
            % (NS, qid, max_items)))
        res = await iq.send(timeout=10)
        fin = res.xml.find("{%s}fin" % NS)
        assert fin is not None, res
        return self.results.get(qid, []), fin


async def main():
    bob = Client(BOB, PASSWORD)
    await parley_xmpp.started(bob)
    ids, fin = await bob.query(None, "one", 50)
    assert ONE in ids, (ONE, ids)
    ids, fin = await bob.query(ROOM, "room", 50)
    assert GROUP in ids, (GROUP, ids)
    assert fin.get("complete") == "true", ET.tostring(fin)
    pres, subject, occupants, history = await bob.plugin["xep_0045"].join_muc_wait(ROOM, "bob-slix", maxstanzas=5, timeout=10)
    assert pres["type"] != "error", pres
    assert GROUP in [m["id"] for m in history], [str(m) for m in history]
    bob.disconnect()
    print("slixmpp mam: 3 passed, 0 failed")


asyncio.run(main())
