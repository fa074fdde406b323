"""Debian's python3-slixmpp shares a file over HTTP File Upload (XEP-0363):
Alice finds the upload service, requests a slot, PUTs a PNG and sends Bob
the GET URL; Bob fetches it and gets the same bytes. A slot larger than the
limit is refused with <file-too-large>."""
import asyncio
import io

import aiohttp
import slixmpp
from slixmpp.exceptions import IqError

import parley_xmpp
from parley_xmpp import ALICE, BOB, PASSWORD_A, PASSWORD_B


class Client(parley_xmpp.Client):
    def __init__(self, jid, password):
        super().__init__(jid, password, plugins=["xep_0030", "xep_0363"])
        self.ready = asyncio.Event()
        self.inbox = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", lambda m: self.inbox.put_nowait(m) if m["body"] else None)

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()


async def main():
    alice, bob = Client(ALICE, PASSWORD_A), Client(BOB, PASSWORD_B)
    await parley_xmpp.started(alice, bob)
    # Debian's slixmpp 1.8's own service lookup (get_info_from_domain) fails
    # on Python 3.11 (coroutines to asyncio.wait); the same disco steps here.
    items = await alice["xep_0030"].get_items(jid=parley_xmpp.DOMAIN, timeout=10)
    service = None
    for jid, _, _ in items["disco_items"]["items"]:
        info = await alice["xep_0030"].get_info(jid=jid, timeout=10)
        if ("store", "file") in [(i[0], i[1]) for i in info["disco_info"]["identities"]] and \
                "urn:xmpp:http:upload:0" in info["disco_info"]["features"]:
            service = info
    assert service is not None, "no upload service in the server's disco#items"
    form = service["disco_info"].iterables[0]["values"]
    assert int(form["max-file-size"]) > 0, form
    alice["xep_0363"].upload_service = service["from"]
    alice["xep_0363"].max_file_size = int(form["max-file-size"])

    data = parley_xmpp.png(64, 48)
    url = await alice["xep_0363"].upload_file("picture.png", size=len(data), content_type="image/png",
                                              input_file=io.BytesIO(data), timeout=10)
    assert url.endswith("/picture.png"), url
    alice.send_message(mto=BOB, mbody=url, mtype="chat")
    m = await asyncio.wait_for(bob.inbox.get(), 10)
    async with aiohttp.ClientSession() as http:
        async with http.get(m["body"]) as resp:
            assert resp.status == 200, resp.status
            assert resp.headers["Content-Type"] == "image/png", resp.headers
            got = await resp.read()
    assert got == data, "bob got other bytes"

    service = alice["xep_0363"].upload_service
    try:
        await alice["xep_0363"].request_slot(service, "huge.bin", 1 << 40, "application/octet-stream", timeout=10)
        raise SystemExit("a slot over the limit was granted")
    except IqError as e:
        assert e.iq.xml.find(".//{urn:xmpp:http:upload:0}file-too-large") is not None, e.iq
    for c in (alice, bob):
        c.disconnect()
    print("slixmpp upload: 4 passed, 0 failed")


asyncio.run(main())
