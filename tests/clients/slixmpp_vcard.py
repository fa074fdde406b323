"""Debian's python3-slixmpp sets a vCard (XEP-0054) with a photo; another
client fetches it and gets the name and the same image bytes; the photo is
the user's avatar over REST too."""
import asyncio
import json
import os
import urllib.request

import parley_xmpp
from parley_xmpp import ALICE, BOB, PASSWORD_A, PASSWORD_B


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password, plugins=["xep_0054"])
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", lambda _: self.ready.set())


async def main():
    alice, bob = Client(ALICE, PASSWORD_A), Client(BOB, PASSWORD_B)
    await parley_xmpp.started(alice, bob)
    image = parley_xmpp.png(32, 32)
    card = alice["xep_0054"].make_vcard()
    card["FN"] = "Alice Liddell"
    card["NICKNAME"] = "alice"
    card["URL"] = "https://example.com/alice"
    card["PHOTO"]["TYPE"] = "image/png"
    card["PHOTO"]["BINVAL"] = image
    await alice["xep_0054"].publish_vcard(card, timeout=10)

    got = (await bob["xep_0054"].get_vcard(ALICE, cached=False, timeout=10))["vcard_temp"]
    assert got["FN"] == "Alice Liddell", got
    assert got["URL"] == "https://example.com/alice", got
    assert got["PHOTO"]["TYPE"] == "image/png", got
    assert got["PHOTO"]["BINVAL"] == image, "bob got another photo"

    # The photo is Alice's avatar over REST: a public file with those bytes.
    http = os.environ["PARLEY_HTTP"]
    req = urllib.request.Request(http + "/session.json", data=json.dumps({
        "application_id": int(os.environ["PARLEY_APP_ID"]), "auth_key": os.environ["PARLEY_AUTH_KEY"],
        "user": {"login": "sdk_alice", "password": PASSWORD_A}}).encode(), headers={"Content-Type": "application/json"})
    session = json.load(urllib.request.urlopen(req, timeout=10))["session"]
    user_id, token = session["user_id"], session["token"]
    me = json.load(urllib.request.urlopen(urllib.request.Request(http + "/users/%d.json" % user_id, headers={"CB-Token": token}), timeout=10))
    assert me["user"]["full_name"] == "Alice Liddell", me
    avatar = me["user"]["avatar"]
    assert urllib.request.urlopen(http + "/blobs/" + avatar, timeout=10).read() == image
    for c in (alice, bob):
        c.disconnect()
    print("slixmpp vcard: 6 passed, 0 failed")


asyncio.run(main())
