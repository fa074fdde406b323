"""Shared setup of the slixmpp scripts: where the node listens and a client
that trusts its self-signed certificate and connects over STARTTLS."""
import os
import ssl

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
