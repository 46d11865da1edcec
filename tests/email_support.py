"""Real mail servers for the email tests: an aiosmtpd SMTP sink and Debian's Dovecot IMAP server, both on
127.0.0.1, started once per session; and the brands' mail accounts pointing at them.

Dovecot runs from a temporary directory with its own configuration (no system files touched): plain
logins over a loopback port, one user, a Maildir. As root (the CI container) its login and internal
processes run as Debian's ``dovenull`` and ``dovecot`` users, which the package creates; as anyone else
everything runs as that user. ``make mailserver`` installs it (``apt-get install dovecot-imapd``).

Import into a test module with ``from tests.email_support import *``.
"""

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from conversations.models import MailAccount
from tests.conversations_support import *  # noqa: F403
from tests.conversations_support import __all__ as _conversation_fixtures

__all__ = [*_conversation_fixtures, "dovecot", "email_env", "smtp_sink", "SALES", "LEAD_EMAIL"]

SALES = "ventas@intralog.test"
LEAD_EMAIL = "ana.perez@cliente.example"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SinkHandler:
    """Keeps what the SMTP server is given; refuses recipients in ``refuse`` with a 550."""

    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


class SMTPSink:
    def __init__(self):
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def clear(self):
        self.handler.messages.clear()
        self.handler.refuse.clear()

    @property
    def received(self):
        return [
            BytesParser(policy=policy.default).parsebytes(raw) for _from, _to, raw in self.handler.messages
        ]


class Dovecot:
    """Dovecot serving one mailbox (``user``/``password``) on a free loopback port."""

    user = SALES
    password = "imap-test-secret"  # noqa: S105

    def __init__(self):
        if not os.path.exists(DOVECOT):
            pytest.fail("Dovecot is not installed: run `make mailserver` (apt-get install dovecot-imapd).")
        self.root = Path(tempfile.mkdtemp(prefix="intralog-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.config = self.root / "dovecot.conf"

    def _write_config(self):
        if os.geteuid() == 0:
            internal, login = "dovecot", "dovenull"
            mail_user = pwd.getpwnam("dovecot")
            uid, gid, group = mail_user.pw_uid, mail_user.pw_gid, "dovecot"
        else:
            me = pwd.getpwuid(os.geteuid())
            internal = login = me.pw_name
            uid, gid, group = me.pw_uid, me.pw_gid, me.pw_name
        home = self.root / "home"
        home.mkdir()
        os.chown(home, uid, gid)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        self.config.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
first_valid_uid = 1
first_valid_gid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""
        )

    def start(self):
        self._write_config()
        # The master daemonises and keeps its standard streams: no pipes, or waiting for them never ends.
        subprocess.run(  # noqa: S603
            [DOVECOT, "-c", str(self.config)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                self.connect().logout()
                return self
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    log = self.root / "dovecot.log"
                    raise RuntimeError(log.read_text() if log.exists() else "Dovecot did not start") from None
                time.sleep(0.1)

    def stop(self):
        subprocess.run(  # noqa: S603
            [DOVECOT, "-c", str(self.config), "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self):
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def append(self, *raws):
        imap = self.connect()
        try:
            for raw in raws:
                status, data = imap.append("INBOX", None, None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    def clear(self):
        imap = self.connect()
        try:
            imap.select("INBOX")
            status, data = imap.search(None, "ALL")
            if data and data[0]:
                imap.store("1:*", "+FLAGS", "\\Deleted")
                imap.expunge()
        finally:
            imap.logout()

    def count(self):
        imap = self.connect()
        try:
            status, data = imap.select("INBOX", readonly=True)
            return int(data[0])
        finally:
            imap.logout()


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def dovecot():
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def email_env(whatsapp_env, brands, settings, smtp_sink, dovecot):
    """INTRALOG's mail account: SMTP to the sink, replies read from Dovecot (password from the settings,
    as from the environment); both servers emptied."""
    smtp_sink.clear()
    dovecot.clear()
    settings.CONVERSATIONS_IMAP_PASSWORDS = {"intralog": dovecot.password}
    settings.CONVERSATIONS_SMTP_PASSWORDS = {}
    account = MailAccount.objects.create(
        brand=brands["intralog"],
        address=SALES,
        display_name="INTRALOG Ventas",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_security=MailAccount.Security.NONE,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security=MailAccount.Security.NONE,
        imap_username=dovecot.user,
    )
    return {**whatsapp_env, "account": account, "sink": smtp_sink, "dovecot": dovecot}
