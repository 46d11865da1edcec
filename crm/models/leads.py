"""Leads, their catalogues (services, sources, campaigns, pipeline statuses) and their event log.

Leads are only ever written through ``crm.intake`` (new) and ``crm.services`` (changes); these models
hold data and queries.
"""

import re
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase

from crm import system_notes
from crm.languages import localised

from .money import Currency
from .people import Brand


class Service(models.Model):
    """A service a brand offers, with the option text the WordPress forms send for it."""

    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="services", verbose_name=_("brand")
    )
    name = models.CharField(_("name"), max_length=120)
    form_option = models.CharField(
        _("form option"),
        max_length=200,
        blank=True,
        help_text=_("The option text WordPress forms send for this service, e.g. “Compra de pallets”."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["brand__name", "name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="crm_service_unique_per_brand")]

    def __str__(self):
        return self.name


class Source(models.Model):
    """Where a lead came from: web form, WordPress, phone, email, WhatsApp, referral, walk-in, other."""

    key = models.SlugField(_("key"), max_length=32, unique=True)
    name = models.CharField(_("name (English)"), max_length=80)
    name_es = models.CharField(_("name (Spanish)"), max_length=80, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        return self.get_name_display()

    def get_name_display(self):
        """The name in the active language (listings and inspect views use it for the name column)."""
        return localised(self.name, self.name_es)


class Campaign(models.Model):
    """A marketing campaign; leads match it through its UTM rules (blank rule = any value)."""

    class Channel(models.TextChoices):
        SEARCH = "search", _("Search ads")
        SOCIAL = "social", _("Social media")
        EMAIL = "email", _("Email")
        DISPLAY = "display", _("Display")
        OFFLINE = "offline", _("Offline")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=150)
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        related_name="campaigns",
        null=True,
        blank=True,
        verbose_name=_("brand"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.OTHER)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    utm_source = models.CharField(_("UTM source rule"), max_length=100, blank=True)
    utm_medium = models.CharField(_("UTM medium rule"), max_length=100, blank=True)
    utm_campaign = models.CharField(_("UTM campaign rule"), max_length=150, blank=True)
    budget = models.DecimalField(_("budget"), max_digits=12, decimal_places=2, null=True, blank=True)
    spend = models.DecimalField(_("spend"), max_digits=12, decimal_places=2, default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self):
        return self.name


class Stage(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    JUNK = "junk", _("Junk")


CLOSED_STAGES = (Stage.WON, Stage.LOST, Stage.JUNK)


class PipelineStatus(models.Model):
    """A step of the sales pipeline; admins configure them, a migration seeds the old system's twelve."""

    key = models.SlugField(_("key"), max_length=32, unique=True)
    label = models.CharField(_("label (English)"), max_length=80)
    label_es = models.CharField(_("label (Spanish)"), max_length=80)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    colour = models.CharField(
        _("colour"), max_length=7, default="#6b7280", help_text=_("Hex colour, e.g. #2563eb.")
    )
    stage = models.CharField(_("stage"), max_length=8, choices=Stage.choices, default=Stage.OPEN)
    requires_follow_up = models.BooleanField(
        _("requires a follow-up date"),
        default=False,
        help_text=_("Moving a lead into this status asks when to follow it up, unless a follow-up is open."),
    )
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("The chance, from 0 to 100, that a lead in this status is won; weights the forecast."),
    )

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("pipeline status")
        verbose_name_plural = _("pipeline statuses")

    def __str__(self):
        return self.display_label

    @property
    def display_label(self):
        return localised(self.label, self.label_es)

    @property
    def is_closed(self):
        return self.stage in CLOSED_STAGES


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class TaggedLead(TaggedItemBase):
    content_object = models.ForeignKey("crm.Lead", on_delete=models.CASCADE, related_name="tagged_items")


def backfill_age():
    """How long after its submission a lead may reach the CRM and still be new demand."""
    return timedelta(hours=settings.LEAD_BACKFILL_HOURS)


def backfill_q(prefix=""):
    """Leads that reached the CRM more than ``backfill_age()`` after their submission: past demand, from a
    first import or a backfill. Their arrival alerts nobody and they stay out of the first-contact SLA."""
    return Q(**{f"{prefix}submitted_at__lt": F(f"{prefix}received_at") - backfill_age()})


class Lead(models.Model):
    """A potential customer's enquiry, from any channel.

    ``submitted_at`` is when the person asked (the site's own date for imported submissions, never later
    than ``received_at``), ``received_at`` when the CRM got it. A lead's age, its place in listings and the
    demand figures follow the submission.
    """

    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone as given"), max_length=64, blank=True)
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    service = models.ForeignKey(
        Service,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("service"),
    )
    service_text = models.CharField(_("service as given"), max_length=200, blank=True)
    message = models.TextField(_("message"), blank=True)
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="leads", verbose_name=_("brand"), db_index=False
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("source"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("campaign"),
    )
    utm_source = models.CharField(_("UTM source"), max_length=200, blank=True)
    utm_medium = models.CharField(_("UTM medium"), max_length=200, blank=True)
    utm_campaign = models.CharField(_("UTM campaign"), max_length=200, blank=True)
    utm_term = models.CharField(_("UTM term"), max_length=200, blank=True)
    utm_content = models.CharField(_("UTM content"), max_length=200, blank=True)
    external_source = models.CharField(_("external source"), max_length=64, blank=True)
    external_form = models.CharField(_("external form"), max_length=64, blank=True)
    external_id = models.CharField(_("external submission id"), max_length=64, blank=True)
    raw_payload = models.JSONField(_("raw payload"), default=dict, blank=True)
    extra = models.JSONField(_("extra fields"), default=dict, blank=True)
    status = models.ForeignKey(
        PipelineStatus,
        on_delete=models.PROTECT,
        related_name="leads",
        verbose_name=_("status"),
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_leads",
        verbose_name=_("assignee"),
        db_index=False,
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    tags = TaggableManager(through=TaggedLead, blank=True, verbose_name=_("tags"))
    classification_reason = models.TextField(_("classification reason"), blank=True)
    skip_alerts = models.BooleanField(_("skip alerts"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_leads",
        verbose_name=_("merged into"),
        help_text=_("Set when this lead was merged into another; its history shows there too."),
    )
    merged_at = models.DateTimeField(_("merged"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    management_note = models.TextField(_("management note"), blank=True)
    first_contacted_at = models.DateTimeField(_("first contacted"), null=True, blank=True)
    opted_out_at = models.DateTimeField(
        _("opted out of messages"),
        null=True,
        blank=True,
        help_text=_("When the contact asked to get no more messages (a reply of BAJA or STOP)."),
    )
    consent_version = models.CharField(
        _("consent (policy version)"),
        max_length=64,
        blank=True,
        help_text=_("The privacy policy version the contact agreed to, as the form recorded it."),
    )
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    next_action_at = models.DateTimeField(
        _("next action"), null=True, blank=True, help_text=_("When the earliest open follow-up is due.")
    )
    quote_amount = models.DecimalField(
        _("quoted amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    quote_currency = models.CharField(_("quote currency"), max_length=3, choices=Currency.choices, blank=True)
    quoted_on = models.DateField(_("quote date"), null=True, blank=True)
    expected_close_on = models.DateField(_("expected close date"), null=True, blank=True)
    won_amount = models.DecimalField(
        _("won amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    won_currency = models.CharField(_("won currency"), max_length=3, choices=Currency.choices, blank=True)
    won_on = models.DateField(_("won on"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        "crm.LostReason",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lost reason"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The searched fields folded for the listing's search: written by ``crm.search`` on every write.
    search_text = models.TextField(_("search text"), blank=True, editable=False)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        permissions = [
            ("assign_lead", _("Can assign leads")),
            ("export_lead", _("Can export leads")),
            ("merge_lead", _("Can merge leads")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_source", "external_form", "external_id"],
                condition=~models.Q(external_id=""),
                name="crm_lead_unique_external_ref",
            ),
            models.CheckConstraint(
                condition=Q(quote_amount__isnull=True) | (Q(quote_amount__gte=0) & ~Q(quote_currency="")),
                name="crm_lead_quote_has_currency",
            ),
            models.CheckConstraint(
                condition=Q(won_amount__isnull=True) | (Q(won_amount__gte=0) & ~Q(won_currency="")),
                name="crm_lead_won_has_currency",
            ),
        ]
        indexes = [
            models.Index(fields=["-submitted_at", "-id"], name="crm_lead_submitted"),
            models.Index(
                fields=["status", "expected_close_on"],
                condition=Q(quote_amount__isnull=False),
                name="crm_lead_quoted",
            ),
            models.Index(fields=["won_on"], condition=Q(won_amount__isnull=False), name="crm_lead_won"),
            models.Index(fields=["assignee", "status", "-submitted_at"], name="crm_lead_assignee_submitted"),
            models.Index(fields=["status", "-submitted_at"], name="crm_lead_status_submitted"),
            models.Index(fields=["brand", "email"], name="crm_lead_brand_email"),
            models.Index(fields=["brand", "phone_e164"], name="crm_lead_brand_phone"),
            models.Index(
                fields=["assignee", "next_action_at"],
                condition=models.Q(next_action_at__isnull=False),
                name="crm_lead_next_action",
            ),
        ]

    def __str__(self):
        return self.contact_name or self.company or self.email or f"#{self.pk}"

    def get_classification_reason_display(self):
        return system_notes.render(self.classification_reason)

    @property
    def is_backfill(self):
        """Whether the lead reached the CRM long after its submission (see ``backfill_q``)."""
        return self.submitted_at < self.received_at - backfill_age()

    @property
    def is_merged(self):
        return self.merged_into_id is not None

    def history(self):
        """Events of this lead and of every lead merged into it, newest first."""
        lead_ids = [self.pk, *Lead.objects.filter(merged_into=self).values_list("pk", flat=True)]
        return LeadEvent.objects.filter(lead_id__in=lead_ids).select_related("actor", "lead")


class LeadEvent(models.Model):
    """One thing that happened to a lead: who (or the system), what, from, to, when."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CLASSIFIED = "classified", _("Classified")
        ASSIGNED = "assigned", _("Assigned")
        STATUS_CHANGED = "status_changed", _("Status changed")
        NOTE = "note", _("Note")
        CONTACT_ATTEMPT = "contact_attempt", _("Contact attempt")
        MERGED = "merged", _("Merged")
        EDITED = "edited", _("Edited")
        FOLLOW_UP = "follow_up", _("Follow-up")
        MESSAGE_RECEIVED = "message_received", _("Message received")
        OPTED_OUT = "opted_out", _("Opted out of messages")
        ANONYMISED = "anonymised", _("Personal data erased")
        QUOTED = "quoted", _("Quote changed")
        WON_VALUE = "won_value", _("Won amount changed")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        WHATSAPP = "whatsapp", _("WhatsApp")
        MEETING = "meeting", _("Meeting")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        WRONG_NUMBER = "wrong_number", _("Wrong contact details")

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="events", verbose_name=_("lead"), db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lead_events",
        verbose_name=_("actor"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    from_value = models.CharField(_("from"), max_length=100, blank=True)
    to_value = models.CharField(_("to"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        indexes = [
            models.Index(fields=["lead", "-created_at"], name="crm_event_lead_time"),
            models.Index(fields=["kind", "created_at"], name="crm_event_kind_time"),
            models.Index(fields=["actor"], condition=models.Q(actor__isnull=False), name="crm_event_actor"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.lead_id}"


LINK_PATTERN = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


class ClassificationRule(models.Model):
    """A first-classification rule managers edit: when every set condition holds, apply the actions.

    Rules run in order at creation; blank conditions match anything.
    """

    class Field(models.TextChoices):
        CONTACT_NAME = "contact_name", _("Contact name")
        COMPANY = "company", _("Company")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        LOCATION = "location", _("Location")
        SERVICE_TEXT = "service_text", _("Service as given")
        MESSAGE = "message", _("Message")

    class Match(models.TextChoices):
        CONTAINS = "contains", _("contains the text (ignoring case)")
        REGEX = "regex", _("matches the regular expression (ignoring case)")

    name = models.CharField(_("name"), max_length=150)
    name_es = models.CharField(
        _("name (Spanish)"),
        max_length=150,
        blank=True,
        help_text=_("Shown to people who use the admin in Spanish; blank: the name above."),
    )
    order = models.PositiveIntegerField(_("order"), default=100, help_text=_("Lower numbers run first."))
    is_enabled = models.BooleanField(_("enabled"), default=True)
    brand = models.ForeignKey(
        Brand, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("brand")
    )
    external_form = models.CharField(
        _("form"), max_length=64, blank=True, help_text=_("The external form id, e.g. the WordPress form id.")
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("service")
    )
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("source")
    )
    field = models.CharField(_("field"), max_length=20, choices=Field.choices, blank=True)
    match = models.CharField(_("match"), max_length=10, choices=Match.choices, default=Match.CONTAINS)
    pattern = models.CharField(_("text or pattern"), max_length=500, blank=True)
    min_links = models.PositiveSmallIntegerField(
        _("minimum links"),
        null=True,
        blank=True,
        help_text=_("Matches when the message holds at least this many links."),
    )
    set_status = models.ForeignKey(
        PipelineStatus,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set status"),
    )
    add_tags = models.CharField(
        _("add tags"), max_length=200, blank=True, help_text=_("Comma-separated, e.g. spam, vendor.")
    )
    set_priority = models.PositiveSmallIntegerField(
        _("set priority"), choices=Priority.choices, null=True, blank=True
    )
    skip_alerts = models.BooleanField(_("skip alerts"), default=False)
    stop_processing = models.BooleanField(
        _("stop processing"), default=False, help_text=_("Do not evaluate later rules when this one matches.")
    )

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("classification rule")
        verbose_name_plural = _("classification rules")

    def __str__(self):
        return self.get_name_display()

    def get_name_display(self):
        """The name in the active language (listings and inspect views use it for the name column)."""
        return localised(self.name, self.name_es)

    @property
    def tag_list(self):
        return [tag.strip() for tag in self.add_tags.split(",") if tag.strip()]

    def clean(self):
        errors = {}
        if self.field and not self.pattern:
            errors["pattern"] = _("Give the text or pattern to look for in the field.")
        if self.pattern and not self.field:
            errors["field"] = _("Choose the field to look in.")
        if self.pattern and self.match == self.Match.REGEX:
            try:
                re.compile(self.pattern)
            except re.error as error:
                errors["pattern"] = _("This is not a valid regular expression: %(error)s") % {"error": error}
        if not (self.set_status_id or self.tag_list or self.set_priority or self.skip_alerts):
            errors["set_status"] = _("Give the rule at least one action.")
        if errors:
            raise ValidationError(errors)

    def matches(self, lead):
        """Whether every condition set on this rule holds for ``lead``."""
        if self.brand_id and self.brand_id != lead.brand_id:
            return False
        if self.external_form and self.external_form != lead.external_form:
            return False
        if self.service_id and self.service_id != lead.service_id:
            return False
        if self.source_id and self.source_id != lead.source_id:
            return False
        if self.min_links and count_links(lead.message) < self.min_links:
            return False
        if self.field and self.pattern:
            value = str(getattr(lead, self.field, "") or "")
            if self.match == self.Match.REGEX:
                search = self._search()
                return search is not None and search(value)
            return self.pattern.casefold() in value.casefold()
        return True

    def _search(self):
        """A function telling whether a text matches ``pattern`` ignoring case (None when it is not valid).

        An all-lowercase ASCII pattern (no uppercase escape or range) is matched case-sensitively against
        the lower-cased text, which Python's ``re`` does about twice as fast as ``IGNORECASE`` on long
        messages; any other pattern with ``IGNORECASE``. Built once per rule instance.
        """
        if getattr(self, "_search_pattern", None) != self.pattern:
            self._search_pattern, self._search_function = self.pattern, None
            try:
                if self.pattern.isascii() and self.pattern == self.pattern.lower():
                    compiled = re.compile(self.pattern)
                    self._search_function = lambda text: compiled.search(text.lower()) is not None
                else:
                    compiled = re.compile(self.pattern, re.IGNORECASE)
                    self._search_function = lambda text: compiled.search(text) is not None
            except re.error:
                pass
        return self._search_function


# What every link of ``LINK_PATTERN`` contains ("://", or "www." in any case), found in one quick scan.
_MAY_LINK = re.compile(r"[:wW](?://|[wW][wW]\.)")


def count_links(text):
    if not text or _MAY_LINK.search(text) is None:
        return 0
    return len(LINK_PATTERN.findall(text))


class AssignmentRule(models.Model):
    """Automatic assignment of new leads of a brand (optionally one service or form).

    Either a fixed owner, or round-robin among the active employees of the brand (or the chosen members).
    """

    class Mode(models.TextChoices):
        FIXED = "fixed", _("Fixed owner")
        ROUND_ROBIN = "round_robin", _("Round-robin")

    name = models.CharField(_("name"), max_length=150)
    order = models.PositiveIntegerField(_("order"), default=100, help_text=_("Lower numbers run first."))
    is_enabled = models.BooleanField(_("enabled"), default=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+", verbose_name=_("brand"))
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("service")
    )
    external_form = models.CharField(
        _("form"), max_length=64, blank=True, help_text=_("The external form id, e.g. the WordPress form id.")
    )
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices, default=Mode.ROUND_ROBIN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fixed owner"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        verbose_name=_("round-robin members"),
        help_text=_("Leave empty to share among all active employees of the brand."),
    )
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last round-robin assignee"),
    )
    assigned_count = models.PositiveIntegerField(_("leads assigned"), default=0, editable=False)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.mode == self.Mode.FIXED and not self.owner_id:
            errors["owner"] = _("Choose the owner who gets every lead of this rule.")
        if self.service_id and self.brand_id and self.service.brand_id != self.brand_id:
            errors["service"] = _("The service belongs to another brand.")
        if self.owner_id and self.brand_id and not self.owner.brands.filter(pk=self.brand_id).exists():
            errors["owner"] = _("The owner does not work for this brand.")
        if errors:
            raise ValidationError(errors)

    def matches(self, lead):
        return (
            self.brand_id == lead.brand_id
            and (not self.service_id or self.service_id == lead.service_id)
            and (not self.external_form or self.external_form == lead.external_form)
        )
