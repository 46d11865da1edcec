"""The five management dashboards. Each view reads the filters, asks ``metrics`` and lays out tables."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse, reverse_lazy
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language, ngettext, to_locale
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic import WagtailAdminTemplateMixin

from crm import audit
from crm.models import Stage
from crm.viewsets.leads import lead_viewset

from . import campaigns, metrics, revenue, team
from .filters import load_catalogue, read_filters, status_label
from .models import DashboardSettings
from .tables import (
    DATE,
    DATETIME,
    DAYS,
    DECIMAL,
    HOURS,
    INTEGER,
    MONEY_KINDS,
    PERCENT,
    TEXT,
    Column,
    DataTable,
    csv_response,
    sort_rows,
)

VIEW_PERMISSION = "dashboards.view_dashboards"
# Marketing opens the campaigns page only: figures of their brands' leads, never a lead.
PAGE_PERMISSIONS = {"campaigns": "dashboards.view_campaign_dashboard"}

PAGES = [
    ("overview", _("Overview")),
    ("pipeline", _("Pipeline")),
    ("revenue", _("Revenue and forecast")),
    ("team", _("Team performance")),
    ("campaigns", _("Campaigns")),
]

KPI_LABELS = {
    "total": _("Total leads"),
    "pending": _("Pending"),
    "contacted": _("Contacted (to quote + quoted)"),
    "active": _("Active (won + postponed + interested)"),
    "unassigned": _("Unassigned"),
    "won": _("Won"),
    "lost": _("Lost"),
    "junk": _("Junk"),
}


def can_view_dashboards(user):
    return user.is_authenticated and user.is_active and user.has_perm(VIEW_PERMISSION)


def can_open(user, page_key):
    """Whether ``user`` may open the dashboard page ``page_key``."""
    permission = PAGE_PERMISSIONS.get(page_key, VIEW_PERMISSION)
    return user.is_authenticated and user.is_active and user.has_perm(permission)


def pages_for(user):
    """``(key, label, url)`` of the dashboard pages ``user`` may open."""
    return [(key, label, reverse(f"dashboards:{key}")) for key, label in PAGES if can_open(user, key)]


def lead_page_url(lead_pk):
    """The lead's page in the admin (the lead viewset's inspect view)."""
    return reverse(lead_viewset.get_url_name("inspect"), args=[lead_pk])


class DashboardView(WagtailAdminTemplateMixin, TemplateView):
    """Shared by every page: permission, filters, catalogue, settings, CSV export."""

    template_name = "dashboards/dashboard.html"
    page_key = ""
    header_icon = "table"
    breadcrumbs_items = [{"url": reverse_lazy("wagtailadmin_home"), "label": _("Home")}]

    def dispatch(self, request, *args, **kwargs):
        if not can_open(request.user, self.page_key):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return dict(PAGES)[self.page_key]

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": pages_for(self.request.user)[0][2], "label": _("Dashboards")},
            {"url": "", "label": self.get_page_title()},
        ]

    @cached_property
    def catalogue(self):
        return load_catalogue(self.request.user)

    @cached_property
    def settings(self):
        return DashboardSettings.current()

    def get(self, request, *args, **kwargs):
        self.now = timezone.now()
        # The assignee filter is for those who see the team's figures (not marketing).
        self.form, self.filters = read_filters(
            request.GET, self.catalogue, show_assignee=can_view_dashboards(request.user)
        )
        self.groups = metrics.StatusGroups.from_catalogue(self.catalogue)
        sections = self.build()
        export = request.GET.get("export")
        if export:
            for table in sections:
                if isinstance(table, DataTable) and table.key == export:
                    audit.record_export(
                        request, f"dashboard {self.page_key}: {table.key}", len(table.rows), "csv"
                    )
                    return csv_response(table, f"{self.page_key}")
        return self.render_to_response(self.get_context_data(sections=sections))

    def build(self):
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("export", None)
        context.update(
            {
                "pages": pages_for(self.request.user),
                "page_key": self.page_key,
                "form": self.form,
                "filters": self.filters,
                "query": query.urlencode(),
                "chart_locale": to_locale(get_language() or "en").replace("_", "-"),
            }
        )
        return context

    @property
    def money(self):
        """The column kind of amounts in the chosen currency."""
        return MONEY_KINDS[self.filters.currency]

    def money_label(self, label):
        return _("%(figure)s (%(currency)s)") % {"figure": label, "currency": self.filters.currency}

    def label(self, kind, pk):
        rows = getattr(self.catalogue, kind)
        if pk is None:
            return str(_("(none)"))
        row = rows.get(pk)
        if row is None:
            return f"#{pk}"
        return status_label(row) if kind == "statuses" else row["name"]

    def lead_rows(self, leads):
        return [
            {
                "lead": str(lead),
                "url": lead_page_url(lead.pk),
                "brand": lead.brand.name,
                "status": lead.status.display_label,
                "assignee": str(lead.assignee.get_full_name() or lead.assignee) if lead.assignee else "",
                "submitted_at": lead.submitted_at,
                "last_activity_at": lead.last_activity_at,
            }
            for lead in leads
        ]


class OverviewView(DashboardView):
    page_key = "overview"

    def build(self):
        user, flt = self.request.user, self.filters
        kpis, recent, series = metrics.overview_figures(user, flt, self.groups, self.now)
        for kpi in kpis:
            kpi["label"], kpi["kind"] = KPI_LABELS[kpi["key"]], INTEGER
        recent_kpis = [
            {"key": "new_today", "label": _("New today"), "value": recent["new_today"], "kind": INTEGER},
            {
                "key": "new_this_week",
                "label": _("New this week"),
                "value": recent["new_this_week"],
                "kind": INTEGER,
            },
        ]
        columns = [Column("bucket", _("Period start"), DATE), Column("leads", _("Leads"))]
        chart_series = ["leads"]
        if flt.compare:
            columns.append(Column("previous", _("Previous period")))
            chart_series.append("previous")
        parts = metrics.breakdowns(user, flt)
        sections = [
            {"kpis": kpis, "title": _("Leads received in the period"), "compare": flt.compare},
            {"kpis": recent_kpis, "title": _("Recent")},
            DataTable("over_time", _("Leads over time"), columns, series, "line", "bucket", chart_series),
        ]
        for key, kind, title in (
            ("brand_id", "brands", _("Leads by brand")),
            ("service_id", "services", _("Leads by service")),
            ("source_id", "sources", _("Leads by source")),
        ):
            rows = [{"name": self.label(kind, pk), "leads": count} for pk, count in parts[key]]
            sections.append(
                DataTable(
                    key.removesuffix("_id"),
                    title,
                    [Column("name", _("Name"), TEXT), Column("leads", _("Leads"))],
                    rows,
                    "bar",
                    "name",
                    ["leads"],
                )
            )
        latest = metrics.latest_leads(user, flt, self.groups)
        sections.append(
            DataTable(
                "latest",
                _("Latest leads (not negative)"),
                [
                    Column("lead", _("Lead"), TEXT),
                    Column("brand", _("Brand"), TEXT),
                    Column("status", _("Status"), TEXT),
                    Column("assignee", _("Assignee"), TEXT),
                    Column("submitted_at", _("Submitted"), DATETIME),
                ],
                self.lead_rows(latest),
                link_column="lead",
            )
        )
        return sections


class PipelineView(DashboardView):
    page_key = "pipeline"

    def build(self):
        user, flt = self.request.user, self.filters
        distribution = metrics.status_distribution(user, flt, self.groups, self.settings, self.now)
        total = sum(row["leads"] for row in distribution.values())
        status_rows, stage_totals = [], {}
        for pk, status in self.catalogue.statuses.items():
            row = distribution.get(pk, {})
            leads = row.get("leads", 0)
            stage_totals[status["stage"]] = stage_totals.get(status["stage"], 0) + leads
            status_rows.append(
                {
                    "status": status_label(status),
                    "stage": Stage(status["stage"]).label,
                    "leads": leads,
                    "previous": row.get("previous", 0),
                    "share": metrics.ratio(leads, total),
                    "median_age": _days(row.get("median_age")),
                    "p90_age": _days(row.get("p90_age")),
                    "stale": row.get("stale", 0),
                }
            )
        funnel = metrics.stage_funnel(user, flt, self.groups, distribution)
        for step in funnel:
            step["stage"] = {"new": _("Received"), "open": _("Reached an open status"), "won": _("Won")}[
                step["stage"]
            ]
        stage_rows = [
            {
                "stage": label,
                "leads": stage_totals.get(value, 0),
                "share": metrics.ratio(stage_totals.get(value, 0), total),
            }
            for value, label in Stage.choices
        ]
        stale = metrics.stale_leads(user, flt, self.groups, self.settings, self.now)
        funnel_columns = [
            Column("stage", _("Step"), TEXT),
            Column("leads", _("Leads")),
            Column("from_previous", _("Conversion from the previous step"), PERCENT),
            Column("from_start", _("Share of received"), PERCENT),
        ]
        status_columns = [
            Column("status", _("Status"), TEXT),
            Column("stage", _("Stage"), TEXT),
            Column("leads", _("Leads")),
            Column("share", _("Share"), PERCENT),
            Column("median_age", _("Median time in status"), DAYS),
            Column("p90_age", _("90th percentile time in status"), DAYS),
            Column("stale", _("Stale")),
        ]
        funnel_series = ["leads"]
        if flt.compare:
            funnel_columns += [
                Column("previous", _("Leads, previous period")),
                Column(
                    "previous_from_previous", _("Conversion from the previous step, previous period"), PERCENT
                ),
                Column("previous_from_start", _("Share of received, previous period"), PERCENT),
            ]
            status_columns.insert(3, Column("previous", _("Leads, previous period")))
            funnel_series.append("previous")
        return [
            DataTable(
                "funnel", _("Funnel by stage"), funnel_columns, funnel, "funnel", "stage", funnel_series
            ),
            DataTable(
                "stages",
                _("Leads by current stage"),
                [
                    Column("stage", _("Stage"), TEXT),
                    Column("leads", _("Leads")),
                    Column("share", _("Share"), PERCENT),
                ],
                stage_rows,
                "bar",
                "stage",
                ["leads"],
            ),
            DataTable(
                "statuses",
                _("Status distribution and aging"),
                status_columns,
                status_rows,
                "bar",
                "status",
                ["leads"],
            ),
            DataTable(
                "stale",
                _("Stale leads: open, no activity for %(days)s days") % {"days": self.settings.stale_days},
                [
                    Column("lead", _("Lead"), TEXT),
                    Column("brand", _("Brand"), TEXT),
                    Column("status", _("Status"), TEXT),
                    Column("assignee", _("Assignee"), TEXT),
                    Column("last_activity_at", _("Last activity"), DATETIME),
                ],
                self.lead_rows(stale),
                link_column="lead",
                note=_("The twenty stalest; the status table counts them all."),
            ),
        ]


def _days(seconds):
    return seconds / metrics.DAY if seconds is not None else None


def _hours_label(hours):
    return _("%(hours)s h") % {"hours": hours}


class TeamView(DashboardView):
    page_key = "team"

    def build(self):
        user, flt = self.request.user, self.filters
        figures = team.team_figures(user, flt, self.groups, self.settings, self.now)
        rows, total, trend = figures["rows"], figures["total"], figures["trend"]
        for row in rows:
            row["person"] = self.label("people", row["person_id"])
        total["person"] = str(_("Team total"))
        rows.sort(key=lambda row: str(row["person"]).lower())
        rows, sort = sort_rows(
            rows,
            [*TEAM_COLUMNS, Column("revenue", "", sortable=True)],
            self.request.GET.get("sort", ""),
        )
        self.sort = sort
        settings = self.settings
        hours = settings.sla_hours
        if settings.sla_business_hours:
            sla = ngettext(
                "SLA: %(hours)s business hour (Monday to Friday, %(start)s:00 to %(end)s:00).",
                "SLA: %(hours)s business hours (Monday to Friday, %(start)s:00 to %(end)s:00).",
                hours,
            ) % {"hours": hours, "start": settings.business_day_start, "end": settings.business_day_end}
        else:
            sla = ngettext("SLA: %(hours)s hour.", "SLA: %(hours)s hours.", hours) % {"hours": hours}
        sections = []
        if flt.compare:
            previous = figures["previous"]
            sections.append(
                {
                    "title": _("Team totals"),
                    "compare": True,
                    "kpis": [
                        {
                            "key": key,
                            "label": label,
                            "kind": kind,
                            "value": total[key],
                            "previous": previous[key],
                            "change": metrics.change(total[key], previous[key]),
                        }
                        for key, label, kind in TEAM_TOTAL_KPIS
                    ],
                }
            )
        columns = TEAM_COLUMNS + [
            Column("revenue", self.money_label(_("Won revenue")), self.money, sortable=True)
        ]
        if flt.compare:
            sections[0]["kpis"].append(
                {
                    "key": "revenue",
                    "label": self.money_label(_("Won revenue")),
                    "kind": self.money,
                    "value": total["revenue"],
                    "previous": figures["previous"]["revenue"],
                    "change": metrics.change(total["revenue"], figures["previous"]["revenue"]),
                }
            )
        return sections + [
            DataTable(
                "team",
                _("Per salesperson"),
                columns,
                rows + [total],
                "bar",
                "person",
                ["assigned", "contacted_leads", "won"],
                note=_(
                    "Assigned: leads whose current assignment was made in the period. Contacted, quoted and "
                    "won: the first contact attempt a person made on a lead, and the first time a lead "
                    "reached the quoted or a won status, in the period (the team total counts each lead "
                    "once). Activity: events people recorded. First-contact times, SLA, open and stale: "
                    "leads received in the period. Won revenue: the won amounts whose day won is in the "
                    "period, per current assignee."
                )
                + " "
                + sla,
                warning=missing_rates_text(figures["missing"], "won"),
            ),
            DataTable(
                "trend",
                _("Weekly trend"),
                [
                    Column("bucket", _("Week of"), DATE),
                    Column("assigned", _("Assigned")),
                    Column("contacted", _("Leads contacted")),
                    Column("won", _("Won")),
                ],
                trend,
                "line",
                "bucket",
                ["assigned", "contacted", "won"],
            ),
        ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(sort=getattr(self, "sort", ""), **kwargs)


TEAM_TOTAL_KPIS = [
    ("assigned", _("Leads assigned"), INTEGER),
    ("contacted_leads", _("Leads contacted"), INTEGER),
    ("median_response_hours", _("Median time to first contact"), HOURS),
    ("sla_share", _("Contacted within SLA"), PERCENT),
    ("quoted", _("Quoted"), INTEGER),
    ("won", _("Won"), INTEGER),
    ("conversion", _("Conversion (won / assigned)"), PERCENT),
    ("activity", _("Activity (events)"), INTEGER),
]

TEAM_COLUMNS = [
    Column("person", _("Salesperson"), TEXT, sortable=True),
    Column("assigned", _("Leads assigned"), sortable=True),
    Column("contacted_leads", _("Leads contacted"), sortable=True),
    Column("median_response_hours", _("Median time to first contact"), HOURS, sortable=True),
    Column("p90_response_hours", _("90th percentile time to first contact"), HOURS, sortable=True),
    Column("sla_share", _("Contacted within SLA"), PERCENT, sortable=True),
    Column("quoted", _("Quoted"), sortable=True),
    Column("won", _("Won"), sortable=True),
    Column("conversion", _("Conversion (won / assigned)"), PERCENT, sortable=True),
    Column("open", _("Open leads"), sortable=True),
    Column("stale", _("Stale leads"), sortable=True),
    Column("activity", _("Activity (events)"), sortable=True),
]


def campaign_figure_columns(money, money_label):
    """The figures of every campaign table; amounts of kind ``money``, labelled by ``money_label``."""
    return [
        Column("leads", _("Leads"), sortable=True),
        Column("valid", _("Valid (not junk)"), sortable=True),
        Column("contacted", _("Contacted"), sortable=True),
        Column("quoted", _("Quoted or later"), sortable=True),
        Column("won", _("Won"), sortable=True),
        Column("conversion", _("Conversion (won / valid)"), PERCENT, sortable=True),
        Column("cost", money_label(_("Spend attributed")), money, sortable=True),
        Column("cost_per_lead", money_label(_("Cost per lead")), money, sortable=True),
        Column("cost_per_won", money_label(_("Cost per won deal")), money, sortable=True),
        Column("revenue", money_label(_("Revenue")), money, sortable=True),
        Column("revenue_per_won", money_label(_("Revenue per won deal")), money, sortable=True),
        Column("return_on_spend", _("Return on spend (revenue / spend)"), DECIMAL, sortable=True),
        Column("median_to_won_days", _("Median time to won"), DAYS, sortable=True),
        Column("rank", _("Mark"), TEXT),
    ]


CAMPAIGN_PREVIOUS_COLUMNS = [
    Column("previous_leads", _("Leads, previous period"), sortable=True),
    Column("previous_won", _("Won, previous period"), sortable=True),
    Column("previous_conversion", _("Conversion, previous period"), PERCENT, sortable=True),
]


class CampaignsView(DashboardView):
    page_key = "campaigns"

    def build(self):
        user, flt = self.request.user, self.filters
        tables = campaigns.campaign_effectiveness(user, flt, self.groups, self.catalogue)
        sort = self.request.GET.get("sort", "")
        warning = missing_rates_text(tables["missing"], "won")
        spend_note = str(
            _(
                "Revenue: the won amounts of the period's leads, each at the exchange rate of its day won. "
                "Spend is in pesos."
            )
        )
        rate_day, rate = tables["spend_rate"]
        if flt.currency != "ARS":
            if rate is None:
                warning = " ".join(
                    filter(None, [warning, str(_("Spend not converted: no exchange rate in the period."))])
                )
            else:
                spend_note += " " + str(
                    _("Spend in dollars at the rate of %(day)s, the newest of the period (%(rate)s).")
                    % {"day": rate_day.isoformat(), "rate": rate}
                )
        sections = []
        for key, title, name_columns in (
            ("campaign", _("By campaign"), [Column("name", _("Campaign"), TEXT, sortable=True)]),
            (
                "utm",
                _("By UTM source × medium × campaign"),
                [
                    Column("utm_source", _("UTM source"), TEXT, sortable=True),
                    Column("utm_medium", _("UTM medium"), TEXT, sortable=True),
                    Column("utm_campaign", _("UTM campaign"), TEXT, sortable=True),
                ],
            ),
            ("service", _("By service"), [Column("name", _("Service"), TEXT, sortable=True)]),
            ("brand", _("By brand"), [Column("name", _("Brand"), TEXT, sortable=True)]),
        ):
            rows = tables[key]
            for row in rows:
                if key == "campaign":
                    row["name"] = self.label("campaigns", row["campaign_id"])
                elif key == "service":
                    row["name"] = self.label("services", row["service_id"])
                elif key == "brand":
                    row["name"] = self.label("brands", row["brand_id"])
                else:
                    row["label"] = " / ".join(
                        row[name] or "—" for name in ("utm_source", "utm_medium", "utm_campaign")
                    )
            campaigns.mark_best_and_worst(rows, self.settings.ranking_min_leads)
            rows.sort(key=lambda row: -row["leads"])
            columns = name_columns + campaign_figure_columns(self.money, self.money_label)
            if flt.compare:
                columns = columns[:-1] + CAMPAIGN_PREVIOUS_COLUMNS + columns[-1:]
            rows, self.sort = sort_rows(rows, columns, sort)
            for row in rows:
                row["rank"] = {"best": _("Best"), "worst": _("Worst")}.get(row["rank"], "")
            sections.append(
                DataTable(
                    key,
                    title,
                    columns,
                    rows,
                    "bar",
                    "label" if key == "utm" else "name",
                    ["leads", "won"],
                    note=_("Best and worst by conversion, among rows with at least %(count)s leads.")
                    % {"count": self.settings.ranking_min_leads}
                    + " "
                    + spend_note,
                    warning=warning,
                )
            )
        return sections

    def get_context_data(self, **kwargs):
        return super().get_context_data(sort=getattr(self, "sort", ""), **kwargs)


MISSING_RATES = {
    "quotes": lambda count: ngettext(
        "%(count)s quote left out: no exchange rate for %(days)s.",
        "%(count)s quotes left out: no exchange rate for %(days)s.",
        count,
    ),
    "won": lambda count: ngettext(
        "%(count)s won deal left out: no exchange rate for %(days)s.",
        "%(count)s won deals left out: no exchange rate for %(days)s.",
        count,
    ),
}


def missing_rates_text(missing, kind):
    """What was left out for want of a day's exchange rate, or "" when nothing was."""
    if not missing:
        return ""
    return MISSING_RATES[kind](missing.count) % {
        "count": missing.count,
        "days": revenue.missing_days_text(missing),
    }


class RevenueView(DashboardView):
    page_key = "revenue"

    def build(self):
        user, flt = self.request.user, self.filters
        pipeline = revenue.open_pipeline(user, flt, self.groups, self.catalogue, timezone.localdate(self.now))
        won = revenue.won_revenue(user, flt)
        money, label = self.money, self.money_label
        labels = {
            "revenue": label(_("Won revenue")),
            "deals": _("Won deals"),
            "average": label(_("Average deal")),
        }
        for kpi in won["kpis"]:
            kpi["label"] = labels[kpi["key"]]
            kpi["kind"] = INTEGER if kpi["key"] == "deals" else money
        warnings = [missing_rates_text(won["missing"], "won")]
        if flt.compare and won["previous_missing"]:
            warnings.append(
                str(
                    _("Previous period: %(text)s")
                    % {"text": missing_rates_text(won["previous_missing"], "won")}
                )
            )
        over_time_columns = [
            Column("bucket", _("Period start"), DATE),
            Column("revenue", label(_("Won revenue")), money),
        ]
        series = ["revenue"]
        if flt.compare:
            over_time_columns.append(Column("previous", label(_("Won revenue, previous period")), money))
            series.append("previous")
        over_time_columns.append(Column("deals", _("Won deals")))
        status_rows = [
            {
                "status": self.label("statuses", row["status_id"]),
                "probability": row["probability"] / 100,
                "quotes": row["quotes"],
                "value": row["value"],
                "weighted": row["weighted"],
            }
            for row in pipeline["statuses"]
        ]
        status_rows.append(
            {
                "status": str(_("Open pipeline total")),
                "is_total": True,
                "quotes": sum(row["quotes"] for row in status_rows),
                "value": _total(row["value"] for row in status_rows),
                "weighted": _total(row["weighted"] for row in status_rows),
            }
        )
        bucket_labels = {
            "overdue": _("Earlier (overdue)"),
            "later": _("Later"),
            "undated": _("No expected close date"),
        }
        forecast_rows = [
            {
                "month": str(bucket_labels[row["bucket"]])
                if isinstance(row["bucket"], str)
                else formats.date_format(row["bucket"], "YEAR_MONTH_FORMAT"),
                **{key: row[key] for key in ("quotes", "value", "weighted")},
            }
            for row in pipeline["forecast"]
        ]
        quotes_warning = missing_rates_text(pipeline["missing"], "quotes")
        figures = [
            Column("quotes", _("Quotes")),
            Column("value", label(_("Quoted value")), money),
            Column("weighted", label(_("Weighted value")), money),
        ]
        return [
            {
                "kpis": won["kpis"],
                "title": _("Won revenue in the period"),
                "compare": flt.compare,
                "warning": " ".join(filter(None, warnings)),
            },
            DataTable(
                "won_over_time",
                _("Won revenue over time"),
                over_time_columns,
                won["series"],
                "bar",
                "bucket",
                series,
                note=_("Won amounts by their day won, each at the exchange rate of that day."),
                warning=" ".join(filter(None, warnings)),
            ),
            DataTable(
                "pipeline_value",
                _("Open pipeline value by status"),
                [
                    Column("status", _("Status"), TEXT),
                    Column("probability", _("Probability"), PERCENT),
                    *figures,
                ],
                status_rows,
                "bar",
                "status",
                ["value", "weighted"],
                note=_(
                    "The period's leads open today with a quote. Weighted value: the quoted value times the "
                    "status's probability. Each quote at the exchange rate of its quote date."
                ),
                warning=quotes_warning,
            ),
            DataTable(
                "forecast",
                _("Weighted forecast by expected close month"),
                [Column("month", _("Expected close"), TEXT), *figures],
                forecast_rows,
                "bar",
                "month",
                ["weighted"],
                note=_("The same open quotes by the month they are expected to close."),
                warning=quotes_warning,
            ),
        ]


def _total(values):
    found = [value for value in values if value is not None]
    return sum(found) if found else None
