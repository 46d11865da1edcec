"""The lead listing's rows, drawn a page at a time (``crm.views.columns.LeadTable``), hold exactly what the
per-cell drawing held: the name linked to the lead, the company, the email and phone links, duplicate and
tag badges, the "More" menu with what the role may do, the status badge, the other columns' texts, the age
and the next action, overdue or not, each escaped; for an admin, a manager and an employee."""

import re

import pytest
from django.utils.timesince import timesince
from wagtail import hooks

from crm.models import Campaign, Lead, PipelineStatus, Service, Source
from crm.views.columns import LeadTitleColumn
from tests.crm.follow_up_support import lead_for, listing, local, plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(clock, brands, employee, other_employee, manager):
    """Four leads of one brand, made on Monday 9 March at 08:00, the listing read at 10:30 the next day."""
    intralog = brands["intralog"]
    service = Service.objects.create(brand=intralog, name="Compra & venta")
    campaign = Campaign.objects.create(name="Otoño <2026>", brand=intralog)
    named = lead_for(
        intralog,
        employee,
        "Martín González",
        company="Pallets SA",
        email="martin@example.com",
        phone="011 4555-1234",
        tags=["unknown-service"],  # one tag a lead: their order is the database's
        service=service,
        source=Source.objects.get(key="web_form"),
        campaign=campaign,
    )
    plan(named, employee, local(9, 20))  # overdue when the listing is read
    nameless = lead_for(intralog, None, "", company="Sin Nombre SRL", email="ventas@sinnombre.com")
    clock.set(local(9, 9, 15))
    repeat = lead_for(
        intralog, employee, "Martin Gonzalez", email="martin@example.com", phone="(0341) 15-420-3636"
    )
    Lead.objects.filter(pk=repeat.pk).update(phone_e164="")
    crafted = lead_for(
        intralog,
        other_employee,
        'O\'Brien <b>& "Co"',
        company="A&B <i>",
        email="o'brien@example.com",
        tags=["vip <b>"],
    )
    plan(crafted, other_employee, local(12, 10))  # later than the listing is read
    Lead.objects.filter(pk=crafted.pk).update(status=PipelineStatus.objects.get(key="quoted"))
    clock.set(local(10, 10, 30))
    return {"named": named, "nameless": nameless, "repeat": repeat, "crafted": crafted}


# What the per-cell drawing drew for each lead (the whitespace between tags taken out): ``{pk}`` is the
# lead's id, ``{delete}`` the menu's Delete item (an admin's only), ``{age}`` the time since submission.
ROWS = {
    "nameless": (
        "<tr>"
        '<td class="bulk-action-checkbox-cell"><input type="checkbox" data-object-id="{pk}" data-bulk-action-checkbox class="bulk-action-checkbox" aria-label="Select" aria-describedby="snippet_{pk}_title" /></td>'
        '<td class="title"><div class="title-wrapper"><div class="crm-lead-title"><a href="/admin/leads/inspect/{pk}/"><span id="snippet_{pk}_title">Sin Nombre SRL</span></a></div>'
        '<div class="crm-contact"><a class="crm-contact__email" href="mailto:ventas@sinnombre.com" title="ventas@sinnombre.com">ventas@sinnombre.com</a></div></div>'
        '<ul class="actions"><li><div data-controller="w-dropdown" class="w-dropdown" type="button"><button type="button" class="w-dropdown__toggle w-dropdown__toggle--icon" data-w-dropdown-target="toggle" aria-label="More options for &#x27;Sin Nombre SRL&#x27;"><svg class="icon icon-dots-horizontal w-dropdown__toggle-icon" aria-hidden="true"><use href="#icon-dots-horizontal"></use></svg></button>'
        '<div data-w-dropdown-target="content" class="w-dropdown__content" hidden>'
        '<a href="/admin/leads/edit/{pk}/" class=""><svg class="icon icon-edit icon" aria-hidden="true"><use href="#icon-edit"></use></svg>Edit</a>'
        '<a href="/admin/leads/inspect/{pk}/" class=""><svg class="icon icon-info-circle icon" aria-hidden="true"><use href="#icon-info-circle"></use></svg>Inspect</a>{delete}</div></div></li></ul></td>'
        '<td class="crm-wide-only">03/09/2026 8 a.m.</td>'
        '<td class="crm-wide-only">INTRALOG</td>'
        '<td class="crm-wide-only"></td>'
        '<td><span class="w-status crm-status-badge" style="background-color: #6b7280; color: #ffffff; border-color: #6b7280;" data-status="pending">Pending</span></td>'
        '<td class="crm-wide-only"></td>'
        '<td class="crm-wide-only"></td>'
        '<td class="crm-wide-only"></td>'
        '<td><span title="March 9, 2026, 8 a.m.">{age}</span></td>'
        "</tr>"
    ),
    "repeat": (
        "<tr>"
        '<td class="bulk-action-checkbox-cell"><input type="checkbox" data-object-id="{pk}" data-bulk-action-checkbox class="bulk-action-checkbox" aria-label="Select" aria-describedby="snippet_{pk}_title" /></td>'
        '<td class="title"><div class="title-wrapper"><div class="crm-lead-title"><a href="/admin/leads/inspect/{pk}/"><span id="snippet_{pk}_title">Martin Gonzalez</span></a></div>'
        '<div class="crm-contact"><a class="crm-contact__email" href="mailto:martin@example.com" title="martin@example.com">martin@example.com</a><a class="crm-contact__phone" href="tel:0341154203636">(0341) 15-420-3636</a></div><span class="w-status w-status--label">Duplicate</span></div>'
        '<ul class="actions"><li><div data-controller="w-dropdown" class="w-dropdown" type="button"><button type="button" class="w-dropdown__toggle w-dropdown__toggle--icon" data-w-dropdown-target="toggle" aria-label="More options for &#x27;Martin Gonzalez&#x27;"><svg class="icon icon-dots-horizontal w-dropdown__toggle-icon" aria-hidden="true"><use href="#icon-dots-horizontal"></use></svg></button>'
        '<div data-w-dropdown-target="content" class="w-dropdown__content" hidden>'
        '<a href="/admin/leads/edit/{pk}/" class=""><svg class="icon icon-edit icon" aria-hidden="true"><use href="#icon-edit"></use></svg>Edit</a>'
        '<a href="/admin/leads/inspect/{pk}/" class=""><svg class="icon icon-info-circle icon" aria-hidden="true"><use href="#icon-info-circle"></use></svg>Inspect</a>{delete}</div></div></li></ul></td>'
        '<td class="crm-wide-only">03/09/2026 9:15 a.m.</td>'
        '<td class="crm-wide-only">INTRALOG</td>'
        '<td class="crm-wide-only"></td>'
        '<td><span class="w-status crm-status-badge" style="background-color: #0ea5e9; color: #ffffff; border-color: #0ea5e9;" data-status="assigned">Assigned</span></td>'
        '<td class="crm-wide-only"></td>'
        '<td class="crm-wide-only">employee1</td>'
        '<td class="crm-wide-only"></td>'
        '<td><span title="March 9, 2026, 9:15 a.m.">{age}</span></td>'
        "</tr>"
    ),
    "named": (
        "<tr>"
        '<td class="bulk-action-checkbox-cell"><input type="checkbox" data-object-id="{pk}" data-bulk-action-checkbox class="bulk-action-checkbox" aria-label="Select" aria-describedby="snippet_{pk}_title" /></td>'
        '<td class="title"><div class="title-wrapper"><div class="crm-lead-title"><a href="/admin/leads/inspect/{pk}/"><span id="snippet_{pk}_title">Martín González</span></a><span class="w-text-14 w-text-text-meta crm-lead-title__company" title="Pallets SA">Pallets SA</span></div>'
        '<div class="crm-contact"><a class="crm-contact__email" href="mailto:martin@example.com" title="martin@example.com">martin@example.com</a><a class="crm-contact__phone" href="tel:+541145551234">011 4555-1234</a></div><span class="w-status">Unknown service</span></div>'
        '<ul class="actions"><li><div data-controller="w-dropdown" class="w-dropdown" type="button"><button type="button" class="w-dropdown__toggle w-dropdown__toggle--icon" data-w-dropdown-target="toggle" aria-label="More options for &#x27;Martín González&#x27;"><svg class="icon icon-dots-horizontal w-dropdown__toggle-icon" aria-hidden="true"><use href="#icon-dots-horizontal"></use></svg></button>'
        '<div data-w-dropdown-target="content" class="w-dropdown__content" hidden>'
        '<a href="/admin/leads/edit/{pk}/" class=""><svg class="icon icon-edit icon" aria-hidden="true"><use href="#icon-edit"></use></svg>Edit</a>'
        '<a href="/admin/leads/inspect/{pk}/" class=""><svg class="icon icon-info-circle icon" aria-hidden="true"><use href="#icon-info-circle"></use></svg>Inspect</a>{delete}</div></div></li></ul></td>'
        '<td class="crm-wide-only">03/09/2026 8 a.m.</td>'
        '<td class="crm-wide-only">INTRALOG</td>'
        '<td class="crm-wide-only">Compra &amp; venta</td>'
        '<td><span class="w-status crm-status-badge" style="background-color: #0ea5e9; color: #ffffff; border-color: #0ea5e9;" data-status="assigned">Assigned</span></td>'
        '<td class="crm-wide-only"><span class="crm-next-action crm-next-action--overdue" data-overdue><svg class="icon icon-warning icon crm-next-action__icon" aria-hidden="true"><use href="#icon-warning"></use></svg>03/09/2026 8 p.m.<span class="w-sr-only"> (overdue)</span></span></td>'
        '<td class="crm-wide-only">employee1</td>'
        '<td class="crm-wide-only">Web form · Otoño &lt;2026&gt;</td>'
        '<td><span title="March 9, 2026, 8 a.m.">{age}</span></td>'
        "</tr>"
    ),
    "crafted": (
        "<tr>"
        '<td class="bulk-action-checkbox-cell"><input type="checkbox" data-object-id="{pk}" data-bulk-action-checkbox class="bulk-action-checkbox" aria-label="Select" aria-describedby="snippet_{pk}_title" /></td>'
        '<td class="title"><div class="title-wrapper"><div class="crm-lead-title"><a href="/admin/leads/inspect/{pk}/"><span id="snippet_{pk}_title">O&#x27;Brien &lt;b&gt;&amp; &quot;Co&quot;</span></a><span class="w-text-14 w-text-text-meta crm-lead-title__company" title="A&amp;B &lt;i&gt;">A&amp;B &lt;i&gt;</span></div>'
        '<div class="crm-contact"><a class="crm-contact__email" href="mailto:o&#x27;brien@example.com" title="o&#x27;brien@example.com">o&#x27;brien@example.com</a></div><span class="w-status">vip &lt;b&gt;</span></div>'
        '<ul class="actions"><li><div data-controller="w-dropdown" class="w-dropdown" type="button"><button type="button" class="w-dropdown__toggle w-dropdown__toggle--icon" data-w-dropdown-target="toggle" aria-label="More options for &#x27;O&#x27;Brien &lt;b&gt;&amp; &quot;Co&quot;&#x27;"><svg class="icon icon-dots-horizontal w-dropdown__toggle-icon" aria-hidden="true"><use href="#icon-dots-horizontal"></use></svg></button>'
        '<div data-w-dropdown-target="content" class="w-dropdown__content" hidden>'
        '<a href="/admin/leads/edit/{pk}/" class=""><svg class="icon icon-edit icon" aria-hidden="true"><use href="#icon-edit"></use></svg>Edit</a>'
        '<a href="/admin/leads/inspect/{pk}/" class=""><svg class="icon icon-info-circle icon" aria-hidden="true"><use href="#icon-info-circle"></use></svg>Inspect</a>{delete}</div></div></li></ul></td>'
        '<td class="crm-wide-only">03/09/2026 9:15 a.m.</td>'
        '<td class="crm-wide-only">INTRALOG</td>'
        '<td class="crm-wide-only"></td>'
        '<td><span class="w-status crm-status-badge" style="background-color: #9333ea; color: #ffffff; border-color: #9333ea;" data-status="quoted">Quoted</span></td>'
        '<td class="crm-wide-only"><span class="crm-next-action">03/12/2026 10 a.m.</span></td>'
        '<td class="crm-wide-only">employee2</td>'
        '<td class="crm-wide-only"></td>'
        '<td><span title="March 9, 2026, 9:15 a.m.">{age}</span></td>'
        "</tr>"
    ),
}
DELETE = (
    '<a href="/admin/leads/delete/{pk}/" class=""><svg class="icon icon-bin icon" aria-hidden="true">'
    '<use href="#icon-bin"></use></svg>Delete</a>'
)
AGE = re.compile(r'(<td><span title="[^"]*">)([^<]*)(</span></td></tr>)$')


def rows_of(page):
    """The listing table's rows, each as its markup with the whitespace between tags taken out."""
    table = page[page.index('class="listing crm-lead-listing"') :]
    body = table[table.index("<tbody>") + len("<tbody>") : table.index("</tbody>")]
    return [re.sub(r">\s+<", "><", row.strip()) for row in re.findall(r"<tr[^>]*>.*?</tr>", body, re.S)]


def expected_rows(leads, names, *, deletes):
    rows = []
    for name in names:
        pk = leads[name].pk
        delete = DELETE.replace("{pk}", str(pk)) if deletes else ""
        rows.append(ROWS[name].replace("{delete}", delete).replace("{pk}", str(pk)))
    return rows


def without_ages(rows, leads, names):
    """The rows with each age put back as ``{age}``, once checked against the lead's time since submission."""
    bare = []
    for row, name in zip(rows, names, strict=True):
        match = AGE.search(row)
        assert match, row
        assert match.group(2) == timesince(Lead.objects.get(pk=leads[name].pk).submitted_at)
        bare.append(AGE.sub(r"\1{age}\3", row))
    return bare


SEEN = {
    "admin_user": ["nameless", "repeat", "named", "crafted"],
    "manager": ["nameless", "repeat", "named", "crafted"],
    "employee": ["repeat", "named"],
}


@pytest.mark.parametrize("role", SEEN)
def test_rows_hold_what_the_cells_held(role, request, leads, client_for):
    """Links, labels, badges, the menu's items (Delete only for an admin), status and times, escaped."""
    names = SEEN[role]
    page = listing(client_for(request.getfixturevalue(role)), "ordering=contact_name")
    rows = without_ages(rows_of(page), leads, names)
    expected = expected_rows(leads, names, deletes=role == "admin_user")
    assert rows == expected


@pytest.mark.parametrize("role", SEEN)
def test_the_menu_drawn_once_a_page_is_the_one_wagtail_draws_for_each_row(role, request, leads, client_for):
    """A hook adding listing buttons makes the listing ask Wagtail for each row's buttons: with a hook that
    adds none, every row reads as the page-at-a-time drawing has it."""
    client = client_for(request.getfixturevalue(role))
    once = rows_of(listing(client, "ordering=contact_name"))
    with hooks.register_temporarily("register_snippet_listing_buttons", lambda *args, **kwargs: []):
        per_row = rows_of(listing(client, "ordering=contact_name"))
    assert [AGE.sub("", row) for row in per_row] == [AGE.sub("", row) for row in once]


def test_a_hook_that_changes_one_rows_menu_changes_that_row_only(leads, client_for, manager):
    def no_edit_for_quoted(buttons, instance, user):
        if instance.status.key == "quoted":
            buttons[:] = [button for button in buttons if str(button.label) != "Edit"]

    with hooks.register_temporarily("construct_snippet_listing_buttons", no_edit_for_quoted):
        rows = rows_of(listing(client_for(manager), "ordering=contact_name"))
    edits = {
        name: f'href="/admin/leads/edit/{leads[name].pk}/"' in row
        for name, row in zip(SEEN["manager"], rows, strict=True)
    }
    assert edits == {"nameless": True, "repeat": True, "named": True, "crafted": False}


def test_the_menu_is_drawn_once_a_page_unless_a_hook_adds_buttons(leads, client_for, manager, monkeypatch):
    drawn = []
    draw = LeadTitleColumn._buttons_html

    def counted(column, instance, parent_context):
        drawn.append(instance)
        return draw(column, instance, parent_context)

    monkeypatch.setattr(LeadTitleColumn, "_buttons_html", counted)
    client = client_for(manager)
    listing(client, "ordering=contact_name")
    assert len(drawn) == 1
    drawn.clear()
    with hooks.register_temporarily("register_snippet_listing_buttons", lambda *args, **kwargs: []):
        listing(client, "ordering=contact_name")
    assert [lead.pk for lead in drawn] == [leads[name].pk for name in SEEN["manager"]]
