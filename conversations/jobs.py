"""Jobs of the conversations, enqueued by dotted name (``core.jobs.enqueue``)."""

from . import inbound, mail, mailbox, media, services


def send_message(message_id: int) -> None:
    services.deliver(message_id)


def send_email(message_id: int) -> None:
    mail.deliver(message_id)


def read_mailboxes() -> None:
    mailbox.read_all()


def process_webhook(delivery_id: int) -> None:
    inbound.process_delivery(delivery_id)


def process_pending_webhooks() -> None:
    inbound.process_pending()


def download_media(message_id: int) -> None:
    media.download(message_id)


def resume_sending() -> None:
    services.resume()


def reread_for_number(phone_number_id: str) -> None:
    inbound.reread_for_number(phone_number_id)
