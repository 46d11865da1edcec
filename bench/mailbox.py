"""Mailbox benchmark: a brand's sales mailbox of 10,000 mails on a real Dovecot, read twice, and a reader
killed mid-run.

``run(args)`` starts a child process on its own PostgreSQL database (``MAILBOX_BENCH_DATABASE_URL``) with
Dovecot on a free loopback port (``tests.email_support.Dovecot``: Debian's ``dovecot-imapd``, its own
configuration in a temporary directory). The mailbox holds replies from 500 existing leads (70 % of the
mail) and mail from unknown senders (30 %, each becoming a lead). It measures:

- the first read (every mail stored, new leads created through the intake), mails per second;
- a second read from a fresh checkpoint (UID 0: every mail fetched again, each a repeat by Message-ID);
- a read with the checkpoint kept (nothing new: one search);
- a reader process killed with SIGKILL mid-run (a separate database), then a new run: every mail stored
  exactly once.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from bench.harness import create_database

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "MAILBOX_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/intralog_bench_mailbox"
)
KNOWN = 500
SALES = "ventas@intralog.test"


def run(args):
    """Entry point for ``python -m bench mailbox``: runs the benchmark in a child process."""
    count = 1000 if getattr(args, "quick", False) else 10_000
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="intralog.settings.bench", DATABASE_URL=DATABASE_URL)
    subprocess.run(
        [sys.executable, "-m", "bench.mailbox", "child", str(count)], cwd=BASE_DIR, env=env, check=True
    )  # noqa: S603


def mail(number, sender):
    message = EmailMessage()
    message["From"] = f"Contacto {number} <{sender}>"
    message["To"] = SALES
    message["Subject"] = f"Consulta {number}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(f"bench{number}", domain="cliente.example")
    message.set_content(f"Hola, necesito una cotización para el pedido {number}.\n" + "Detalle. " * 40)
    return message.as_bytes()


def _setup(url):
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _account(dovecot):
    from django.conf import settings

    from conversations.models import MailAccount
    from crm.models import Brand

    settings.CONVERSATIONS_IMAP_PASSWORDS = {"intralog": dovecot.password}
    return MailAccount.objects.create(
        brand=Brand.objects.get(code="intralog"),
        address=SALES,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security=MailAccount.Security.NONE,
        imap_username=dovecot.user,
    )


def _leads():
    from crm.intake import LeadData, create_leads
    from crm.models import Brand, Source

    brand, source = Brand.objects.get(code="intralog"), Source.objects.get(key="phone")
    create_leads(
        [
            LeadData(
                brand=brand, contact_name=f"Cliente {n}", email=f"cliente{n}@cliente.example", source=source
            )
            for n in range(KNOWN)
        ]
    )


def _fill(dovecot, count):
    imap = dovecot.connect()
    started = time.perf_counter()
    for number in range(count):
        sender = (
            f"cliente{number % KNOWN}@cliente.example"
            if number % 10 < 7
            else f"nuevo{number}@empresa.example"
        )
        imap.append("INBOX", None, None, mail(number, sender))
    imap.logout()
    return time.perf_counter() - started


class LoadSampler:
    """The 1-minute load average every few seconds while the benchmark runs (the host is shared)."""

    def __init__(self, every=5.0):
        self.every = every
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def line(self):
        ordered = sorted(self.samples)
        median = ordered[len(ordered) // 2]
        return (
            f"1-minute load average during the run (2 cores, shared with other work): min {ordered[0]:.1f}, "
            f"median {median:.1f}, max {ordered[-1]:.1f} ({len(ordered)} samples); wall times include "
            "waiting for a CPU, the CPU column does not."
        )


def child(count):
    """Fill the mailbox, read it twice, read with nothing new; then the killed reader on a second database."""
    with LoadSampler() as load:
        _child(count, load)


def _child(count, load):
    create_database(DATABASE_URL, fresh=True)
    _setup(DATABASE_URL)
    from bench.harness import machine_line, write_section
    from conversations import mailbox
    from conversations.models import MailAccount, Message
    from crm.models import Lead
    from tests.email_support import Dovecot

    dovecot = Dovecot().start()
    try:
        _leads()
        account = _account(dovecot)
        fill = _fill(dovecot, count)
        started, cpu = time.perf_counter(), time.process_time()
        first = mailbox.read(account.pk)
        first_time, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = Message.objects.count()
        MailAccount.objects.filter(pk=account.pk).update(imap_last_uid=0)
        started, cpu = time.perf_counter(), time.process_time()
        second = mailbox.read(account.pk)
        second_time, second_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        third = mailbox.read(account.pk)
        third_time = time.perf_counter() - started
        assert stored == count == Message.objects.count(), (stored, count)
        assert (second.stored, second.repeats, third.stored + third.repeats) == (0, count, 0)
        new_leads = Lead.objects.filter(source__key="email").count()
        killed = _killed_reader(dovecot, count)
    finally:
        dovecot.stop()
    body = f"""
{machine_line()}

{load.line()}

A mailbox of {count:,} mails on Dovecot (Debian's `dovecot-imapd`, loopback, no TLS): 70 % replies from
{KNOWN} existing leads (matched by sender), 30 % from unknown senders (each a new lead through the intake).
Filled by IMAP APPEND in {fill:.1f} s.

| run | mails stored | repeats | new leads | time | mails/s | reader CPU |
|---|---:|---:|---:|---:|---:|---:|
| first read | {first.stored:,} | {first.repeats:,} | {first.leads:,} | {first_time:.1f} s | {count / first_time:,.0f} | {first_cpu:.1f} s |
| second read, checkpoint reset to UID 0 | {second.stored:,} | {second.repeats:,} | 0 | {second_time:.1f} s | {count / second_time:,.0f} | {second_cpu:.1f} s |
| third read, checkpoint kept | {third.stored:,} | {third.repeats:,} | 0 | {third_time * 1000:.0f} ms | - | - |

Reader CPU: the reading process's own CPU time (PostgreSQL and Dovecot not included), {first_cpu * 1000 / count:.1f} ms
a mail on the first read; the rest of its wall time was waiting for PostgreSQL and for a CPU on the shared host.
Leads from email: {new_leads:,}. Each mail stored once: {Message.objects.count():,} messages for {count:,} mails.

Reader killed (SIGKILL) mid-run after {killed["before"]:,} mails were committed, then run again: {killed["after"]:,}
messages for {count:,} mails, {killed["duplicates"]} stored twice, {killed["missing"]} missing.
"""
    write_section("mailbox", "Mailbox: 10,000 mails read twice, a reader killed mid-run", body)
    print(body)


def _killed_reader(dovecot, count):
    """A reader process on a second database, killed once part of the mailbox is committed; then a new one."""
    url = DATABASE_URL + "_killed"
    create_database(url, fresh=True)
    env = dict(
        os.environ, DATABASE_URL=url, DOVECOT_PORT=str(dovecot.port), DOVECOT_PASSWORD=dovecot.password
    )
    subprocess.run([sys.executable, "-m", "bench.mailbox", "prepare"], cwd=BASE_DIR, env=env, check=True)  # noqa: S603
    import psycopg

    reader = subprocess.Popen([sys.executable, "-m", "bench.mailbox", "reader"], cwd=BASE_DIR, env=env)  # noqa: S603
    before = 0
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        while reader.poll() is None:
            before = connection.execute("SELECT count(*) FROM conversations_message").fetchone()[0]
            if before >= count // 3:
                reader.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        reader.wait()
        subprocess.run([sys.executable, "-m", "bench.mailbox", "reader"], cwd=BASE_DIR, env=env, check=True)  # noqa: S603
        after = connection.execute("SELECT count(*) FROM conversations_message").fetchone()[0]
        distinct = connection.execute(
            "SELECT count(DISTINCT provider_id) FROM conversations_message"
        ).fetchone()[0]
    return {"before": before, "after": after, "duplicates": after - distinct, "missing": count - distinct}


def _dovecot_from_env():
    class Remote:
        user = SALES
        port = int(os.environ["DOVECOT_PORT"])
        password = os.environ["DOVECOT_PASSWORD"]

    return Remote


def prepare():
    _setup(os.environ["DATABASE_URL"])
    _leads()
    _account(_dovecot_from_env())


def reader():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intralog.settings.bench")
    import django

    django.setup()
    from django.conf import settings

    from conversations import mailbox
    from conversations.models import MailAccount

    settings.CONVERSATIONS_IMAP_PASSWORDS = {"intralog": os.environ["DOVECOT_PASSWORD"]}
    mailbox.read(MailAccount.objects.get().pk, batch=100)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "child":
        child(int(sys.argv[2]))
    elif command == "prepare":
        prepare()
    elif command == "reader":
        reader()
