"""How an old submission becomes a lead: brand from its form, status from the old twelve, owner and actors
from the old users (by username, else email), its history as events at their original times."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from crm.backfill import PastEvent, PastLead
from crm.intake import LeadData
from crm.matching import ServiceCatalogue
from crm.models import Brand, Campaign, Lead, LeadEvent, PipelineStatus, Source, User
from crm.normalise import clean_utm, clean_value, extract_utm, fold

from .reader import OldHistory, OldSubmission, OldUser

EXTERNAL_SOURCE = "leads-manager"
"""The external source of every imported lead (its form and WordPress submission id complete the reference)."""

STATUS_MAP = {
    "pendiente": "pending",
    "asignado": "assigned",
    "contactado": "contacted",
    "faltaCotizar": "to_quote",
    "cotizado": "quoted",
    "interezadoAvanzar": "interested",
    "gestionExitosa": "won",
    "pospuesto": "postponed",
    "noAvanzo": "not_advanced",
    "noViable": "not_viable",
    "nuevoCliente": "new_client",
    "negativo": "negative",
}
"""The old status keys and ours (``crm/migrations/0002_initial_data.py``)."""

CONTACTED = frozenset(
    {
        "contactado",
        "faltaCotizar",
        "cotizado",
        "interezadoAvanzar",
        "gestionExitosa",
        "pospuesto",
        "nuevoCliente",
    }
)
"""Old statuses that say the lead had been contacted: the first move into one is its first contact."""

FORM_BRANDS = {3: "intralog", 4: "intralog", 5: "intralog", 7: "intrapal"}
"""The old WordPress form ids and the brand codes they belonged to."""


@dataclass
class Report:
    """What an import did (or, dry, would do)."""

    dry_run: bool = False
    submissions: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    events: int = 0
    notes: int = 0
    unknown_users: dict[int, dict[str, Any]] = field(default_factory=dict)
    unknown_statuses: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    MAX_ERRORS = 200

    def error(self, old_id: int, text: str) -> None:
        self.skipped += 1
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append({"id": old_id, "error": text})

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "submissions": self.submissions,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "events": self.events,
            "notes": self.notes,
            "unknown_users": sorted(self.unknown_users.values(), key=lambda user: user["username"]),
            "unknown_statuses": dict(self.unknown_statuses),
            "errors": self.errors,
            "seconds": round(self.seconds, 1),
        }


class Mapper:
    """What the old rows name, looked up once: brands, statuses, services, campaigns, people."""

    def __init__(
        self,
        old_users: dict[int, OldUser],
        old_campaigns: dict[int, str],
        report: Report,
        form_brands: dict[int, str] | None = None,
    ) -> None:
        self.report = report
        brands = {brand.code: brand for brand in Brand.objects.all()}
        self.by_form = {
            form: brands[code] for form, code in (form_brands or FORM_BRANDS).items() if code in brands
        }
        self.by_name = {fold(brand.name): brand for brand in brands.values()}
        self.by_name.update({fold(brand.code): brand for brand in brands.values()})
        self.statuses = {status.key: status for status in PipelineStatus.objects.all()}
        self.pending = self.statuses["pending"]
        self.services = {brand.pk: ServiceCatalogue(brand) for brand in brands.values()}
        self.source = Source.objects.filter(key="wordpress").first()
        campaigns = {fold(campaign.name): campaign for campaign in Campaign.objects.order_by("pk")}
        self.old_campaigns = old_campaigns
        self.campaigns = {old: campaigns.get(fold(name)) for old, name in old_campaigns.items()}
        self.old_users = old_users
        self.users = _match_users(old_users)

    def user(self, old_id: int | None) -> User | None:
        """Our person for an old user id, or None (unknown people are listed by ``list_unknown_users``)."""
        return None if old_id is None else self.users.get(old_id)

    def list_unknown_users(self, references: dict[int, tuple[int, int]]) -> None:
        """Put in the report every old user the old rows name (``{id: (as assignee, as actor)}``) who has
        no person here."""
        for old_id, (assignee, actor) in references.items():
            if old_id in self.users:
                continue
            old = self.old_users.get(old_id)
            self.report.unknown_users[old_id] = {
                "id": old_id,
                "username": old.username if old else "",
                "email": old.email if old else "",
                "assignee": assignee,
                "actor": actor,
            }

    def status_key(self, old: str | None) -> str:
        key = STATUS_MAP.get(old or "")
        if key is None or key not in self.statuses:
            self.report.unknown_statuses[old or ""] += 1
            return "pending"
        return key

    def brand(self, submission: OldSubmission) -> Brand | None:
        values = submission.values
        return self.by_form.get(values["form_id"]) or self.by_name.get(fold(values["empresa"] or ""))

    def past_lead(
        self, submission: OldSubmission, brand: Brand, after_history: int | None = None
    ) -> PastLead:
        """The lead an old submission is, with the events of its history rows after ``after_history`` (None:
        a new lead, with its creation and assignment too)."""
        values = submission.values
        status_key = self.status_key(values["estado"])
        assignee = self.user(values["assigned_user_id"])
        history = submission.history
        assigned_at = next((row.timestamp for row in history if row.new_status == "asignado"), None)
        contacted_at = next((row.timestamp for row in history if row.new_status in CONTACTED), None)
        note = clean_value(values["management_message"], multiline=True)
        past = PastLead(
            data=self._lead_data(submission, brand),
            status=self.statuses[status_key],
            assignee=assignee,
            assigned_at=(assigned_at or submission.created) if assignee else None,
            status_changed_at=history[-1].timestamp if history else submission.created,
            first_contacted_at=contacted_at,
            management_note=note,
        )
        if after_history is None:
            past.events.extend(self._creation(submission, status_key, assignee, past.assigned_at))
        past.events.extend(self._history_event(row) for row in history if row.id > (after_history or 0))
        return past

    def note_event(self, submission: OldSubmission, note: str) -> PastEvent:
        """The management message as a note, dated at the lead's last known moment (the old app kept no date)."""
        history = submission.history
        at = history[-1].timestamp if history else submission.created
        return PastEvent(LeadEvent.Kind.NOTE, at, note=note, data=_imported(management_message=True))

    def _creation(
        self, submission: OldSubmission, status_key: str, assignee: User | None, assigned_at: datetime | None
    ) -> list[PastEvent]:
        events = []
        history = submission.history
        if not history or history[0].previous_status is not None:
            first = self.status_key(history[0].previous_status) if history else status_key
            events.append(
                PastEvent(LeadEvent.Kind.CREATED, submission.created, to_value=first, data=_imported())
            )
        if assignee is not None and assigned_at is not None:
            events.append(
                PastEvent(
                    LeadEvent.Kind.ASSIGNED,
                    assigned_at,
                    to_value=assignee.get_username(),
                    data=_imported(from_id=None, to_id=assignee.pk),
                )
            )
        return events

    def _history_event(self, row: OldHistory) -> PastEvent:
        actor = self.user(row.updated_by_id)
        data = _imported(history_id=row.id)
        if row.previous_status is None:
            return PastEvent(
                LeadEvent.Kind.CREATED,
                row.timestamp,
                actor,
                to_value=self.status_key(row.new_status),
                data=data,
            )
        return PastEvent(
            LeadEvent.Kind.STATUS_CHANGED,
            row.timestamp,
            actor,
            from_value=self.status_key(row.previous_status),
            to_value=self.status_key(row.new_status),
            data=data,
        )

    def _lead_data(self, submission: OldSubmission, brand: Brand) -> LeadData:
        values, raw = submission.values, submission.data
        fields = {str(key): value for key, value in raw.items()} if isinstance(raw, dict) else {}
        service_text = _cut("service_text", values["servicio"])
        utm: dict[str, Any] = {
            name: _cut(name, clean_utm(value)) for name, value in extract_utm(fields).items()
        }
        campaign_name = self.old_campaigns.get(values["campaign_id"] or 0, "")
        return LeadData(
            brand,
            submitted_at=submission.created,
            contact_name=_cut("contact_name", values["nombre_y_apellido"]),
            company=_cut("company", values["razon_social"]),
            email=_cut("email", values["mail"]),
            phone=_cut("phone", values["telefono"]),
            location=_cut("location", fields.get("Ubicación") or fields.get("Ubicacion")),
            service=self.services[brand.pk].match(service_text),
            service_text=service_text,
            message=clean_value(values["mensaje"], multiline=True),
            source=self.source,
            campaign=self.campaigns.get(values["campaign_id"] or 0),
            **utm,
            external_source=EXTERNAL_SOURCE,
            external_form=str(values["form_id"] or ""),
            external_id=str(values["submission_id"] or f"old-{submission.id}"),
            raw_payload=raw,
            extra={
                "legacy": {
                    "id": submission.id,
                    "empresa": values["empresa"] or "",
                    "origen": values["origen"] or "",
                    "sub_origen": values["sub_origen"] or "",
                    "avance": values["avance"] or "",
                    "estado": values["estado"] or "",
                    "campaign": campaign_name,
                }
            },
        )


def fingerprint(submission: OldSubmission) -> str:
    """What the old row says, hashed: a re-run touches a lead only when this changed (or history grew)."""
    text = json.dumps([submission.values, submission.data], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def changed_fields(lead: Lead, past: PastLead) -> list[str]:
    """The names of what an update changes on ``lead``."""
    names = [
        name
        for name in ("contact_name", "company", "phone", "service_text", "message")
        if getattr(lead, name) != getattr(past.data, name)
    ]
    if lead.email != (past.data.email or "").strip().lower():
        names.append("email")
    if lead.status_id != past.status.pk:
        names.append("status")
    if lead.assignee_id != (past.assignee.pk if past.assignee else None):
        names.append("assignee")
    if lead.management_note != past.management_note:
        names.append("management_note")
    return names


def _match_users(old_users: dict[int, OldUser]) -> dict[int, User]:
    """Old user ids matched to our people by username (ignoring case), else by an email only one has."""
    ours = list(User.objects.only("pk", "username", "email"))
    by_username = {user.username.lower(): user for user in ours}
    emails = Counter(user.email.strip().lower() for user in ours if user.email)
    by_email = {
        user.email.strip().lower(): user
        for user in ours
        if user.email and emails[user.email.strip().lower()] == 1
    }
    found: dict[int, User] = {}
    for old_id, old in old_users.items():
        user = by_username.get(old.username.lower()) or by_email.get(old.email.strip().lower())
        if user is not None:
            found[old_id] = user
    return found


def _cut(name: str, value: Any) -> str:
    limit = getattr(Lead._meta.get_field(name), "max_length", None) or 10_000
    return clean_value(value)[:limit] if value is not None else ""


def _imported(**data: Any) -> dict[str, Any]:
    return {"imported": EXTERNAL_SOURCE, **data}


def unknown_brand_text(submission: OldSubmission) -> str:
    return _("No brand for form %(form)s (company “%(company)s”).") % {
        "form": submission.values["form_id"],
        "company": submission.values["empresa"],
    }
