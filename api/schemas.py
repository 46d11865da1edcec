"""The API's shapes: request bodies (unknown fields refused) and the responses its docs describe."""

import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class LeadIn(Strict):
    """A new lead, as a channel would send it: the brand's id, then what the person gave."""

    brand: int
    contact_name: str = Field("", max_length=200)
    company: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=64)
    location: str = Field("", max_length=200)
    service: int | None = None
    service_text: str = Field("", max_length=200)
    message: str = Field("", max_length=5000)
    source: str | None = Field(None, max_length=32, description="A source's key (see /sources).")
    campaign: int | None = None
    utm_source: str = Field("", max_length=200)
    utm_medium: str = Field("", max_length=200)
    utm_campaign: str = Field("", max_length=200)
    utm_term: str = Field("", max_length=200)
    utm_content: str = Field("", max_length=200)
    submitted_at: datetime.datetime | None = None


class NoteIn(Strict):
    note: str = Field(..., min_length=1, max_length=10000)


class StatusIn(Strict):
    status: str = Field(..., max_length=32, description="A status key (see /statuses).")
    note: str = Field("", max_length=10000)
    lost_reason: str | None = Field(
        None, max_length=32, description="A lost reason's key, for lost statuses."
    )
    follow_up_at: datetime.datetime | None = None


class LeadOut(Schema):
    id: int
    contact_name: str
    company: str
    email: str
    phone: str
    phone_e164: str
    location: str
    message: str
    brand_id: int
    service_id: int | None
    service_text: str
    source_id: int | None
    campaign_id: int | None
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    status_id: int
    assignee_id: int | None
    priority: int
    duplicate_of_id: int | None
    merged_into_id: int | None
    submitted_at: datetime.datetime
    received_at: datetime.datetime
    assigned_at: datetime.datetime | None
    first_contacted_at: datetime.datetime | None
    status_changed_at: datetime.datetime
    last_activity_at: datetime.datetime
    next_action_at: datetime.datetime | None
    opted_out_at: datetime.datetime | None
    quote_amount: Decimal | None
    quote_currency: str
    quoted_on: datetime.date | None
    expected_close_on: datetime.date | None
    won_amount: Decimal | None
    won_currency: str
    won_on: datetime.date | None
    lost_reason_id: int | None
    updated_at: datetime.datetime


class EventOut(Schema):
    id: int
    lead_id: int
    actor_id: int | None
    kind: str
    from_value: str
    to_value: str
    channel: str
    outcome: str
    note: str
    created_at: datetime.datetime


class LeadPage(Schema):
    results: list[LeadOut]
    next_cursor: str = Field(description="Give it back as ?cursor= for the next page (also after the last).")
    has_more: bool


class EventPage(Schema):
    results: list[EventOut]
    next_cursor: str
    has_more: bool


class StatusOut(Schema):
    id: int
    key: str
    label: str
    label_es: str
    stage: str
    order: int
    probability: int


class ServiceOut(Schema):
    id: int
    brand_id: int
    name: str
    is_active: bool


class SourceOut(Schema):
    id: int
    key: str
    name: str
    name_es: str


class CampaignOut(Schema):
    id: int
    name: str
    brand_id: int | None
    channel: str
    starts_on: datetime.date | None
    ends_on: datetime.date | None
    is_active: bool


class PersonOut(Schema):
    id: int
    name: str
    role: str
    is_active: bool


class DayOut(Schema):
    day: datetime.date
    person_id: int
    brand_id: int
    activity: int
    contacted: int
    first_contacts: int
    quoted: int
    won: int


class CreatedLead(Schema):
    lead: LeadOut | None = Field(description="Null when the new lead is not one you may see.")
    id: int
    replayed: bool


class Error(Schema):
    detail: str | dict | list
