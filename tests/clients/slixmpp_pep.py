"""Debian's python3-slixmpp over PEP (XEP-0163): Alice and Bob share
presence; Alice publishes an avatar (XEP-0084) that Bob is notified of and
fetches, byte for byte; Alice keeps bookmarks in a whitelist node (XEP-0402)
that she reads back and Bob cannot."""
import asyncio
import hashlib
import json
import os
import urllib.request

from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET
from slixmpp.plugins.xep_0004 import Form

import parley_xmpp
from parley_xmpp import ALICE, BOB, PASSWORD_A, PASSWORD_B


def rest_avatar(login, password):
    """The user's avatar over REST, and its bytes."""
    http = os.environ["PARLEY_HTTP"]
    req = urllib.request.Request(http + "/session.json", data=json.dumps({
        "application_id": int(os.environ["PARLEY_APP_ID"]), "auth_key": os.environ["PARLEY_AUTH_KEY"],
        "user": {"login": login, "password": password}}).encode(), headers={"Content-Type": "application/json"})
    s = json.load(urllib.request.urlopen(req, timeout=10))["session"]
    me = json.load(urllib.request.urlopen(urllib.request.Request(http + "/users/%d.json" % s["user_id"], headers={"CB-Token": s["token"]}), timeout=10))
    uid = me["user"]["avatar"]
    return uid, urllib.request.urlopen(http + "/blobs/" + uid, timeout=10).read()


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password, plugins=["xep_0030", "xep_0060", "xep_0163", "xep_0084", "xep_0054"])
        self.ready = asyncio.Event()
        self.avatars = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("avatar_metadata_publish", lambda m: self.avatars.put_nowait(m))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        self.ready.set()


async def main():
    alice, bob = Client(ALICE, PASSWORD_A), Client(BOB, PASSWORD_B)
    await parley_xmpp.started(alice, bob)
    bob.send_presence_subscription(pto=ALICE)
    await parley_xmpp.until("bob subscribed to alice", lambda: parley_xmpp.subscription(bob, ALICE) in ("to", "both"))

    image = parley_xmpp.png(16, 16)
    avatar_id = alice["xep_0084"].generate_id(image)
    await alice["xep_0084"].publish_avatar(image, timeout=10)
    await alice["xep_0084"].publish_avatar_metadata([{"id": avatar_id, "type": "image/png", "bytes": len(image)}], timeout=10)
    # Earlier avatars of Alice's (the last item, sent at login) may come first.
    avatar = lambda m: m["pubsub_event"]["items"]["item"]["avatar_metadata"]["info"]["id"]
    await parley_xmpp.first("alice's avatar at bob", bob.avatars, lambda m: m["from"].bare == ALICE and avatar(m) == avatar_id)
    data = await bob["xep_0084"].retrieve_avatar(ALICE, avatar_id, timeout=10)
    assert data["pubsub"]["items"]["item"]["avatar_data"]["value"] == image, "bob fetched another avatar"
    # The PEP avatar is the profile's (XEP-0398 style), and back: a vCard
    # photo is published over PEP.
    _, got = rest_avatar("sdk_alice", PASSWORD_A)
    assert got == image, "the profile avatar is not the PEP one"
    card = alice["xep_0054"].make_vcard()
    second = parley_xmpp.png(20, 20)
    card["PHOTO"]["TYPE"] = "image/png"
    card["PHOTO"]["BINVAL"] = second
    await alice["xep_0054"].publish_vcard(card, timeout=10)
    await parley_xmpp.first("the vCard photo at bob", bob.avatars, lambda m: avatar(m) == hashlib.sha1(second).hexdigest())

    # PEP-native bookmarks: a whitelist node of many items.
    conf = ET.fromstring('<conference xmlns="urn:xmpp:bookmarks:1" name="The team" autojoin="true"><nick>alice</nick></conference>')
    opts = Form()
    opts.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
    opts.add_field(var="pubsub#access_model", value="whitelist")
    opts.add_field(var="pubsub#max_items", value="max")
    await alice["xep_0060"].publish(ALICE, "urn:xmpp:bookmarks:1", id="team@muc." + parley_xmpp.DOMAIN,
                                    payload=conf, options=opts, timeout=10)
    got = await alice["xep_0060"].get_items(ALICE, "urn:xmpp:bookmarks:1", timeout=10)
    items = list(got["pubsub"]["items"])
    assert len(items) == 1 and items[0]["id"] == "team@muc." + parley_xmpp.DOMAIN, items
    assert items[0]["payload"].get("name") == "The team", ET.tostring(items[0]["payload"])
    try:
        await bob["xep_0060"].get_items(ALICE, "urn:xmpp:bookmarks:1", timeout=10)
        raise SystemExit("bob read alice's bookmarks")
    except IqError:
        pass
    for c in (alice, bob):
        c.disconnect()
    print("slixmpp pep: 7 passed, 0 failed")


asyncio.run(main())
