"""Saved views of the lead listing and board: who may share how, who sees which view, and that opening a
view someone shared never shows more than the opener's own leads (rows asserted); the pages that save,
open, change and delete views and choose the default, with bad input answered by a form error or a 400."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.urls import reverse

from crm import intake, saved_views, services
from crm.models import DefaultView, PipelineStatus, Role, SavedView
from tests.crm.follow_up_support import listed_names

pytestmark = pytest.mark.django_db

Visibility = SavedView.Visibility
LISTING = SavedView.Kind.LISTING
BOARD = SavedView.Kind.BOARD


def make_lead(brands, name, assignee=None, brand="intralog", key=None):
    lead = intake.create_lead(intake.LeadData(brand=brands[brand], contact_name=name))
    if assignee is not None:
        lead = services.assign(lead, assignee)
    if key is not None:
        lead = services.change_status(lead, PipelineStatus.objects.get(key=key), note="set up")
    return lead


def save(owner, name="Vista", query="stage=active", visibility=Visibility.PRIVATE, brands=(), **options):
    return saved_views.save_view(
        owner,
        name=name,
        kind=options.pop("kind", LISTING),
        query=query,
        visibility=visibility,
        brands=brands,
        **options,
    )


def field_errors(error):
    return set(error.value.message_dict)


@pytest.fixture
def leads(brands, employee, other_employee, intrapal_employee):
    return {
        "own_open": make_lead(brands, "Ana Propia", employee),
        "own_won": make_lead(brands, "Beto Ganado", employee, key="won"),
        "colleague": make_lead(brands, "Carla Colega", other_employee),
        "unassigned": make_lead(brands, "Dario Libre"),
        "intrapal": make_lead(brands, "Elena Intrapal", intrapal_employee, brand="intrapal"),
    }


def location(response):
    assert response.status_code == 302, response.status_code
    return response["Location"]


def query_of(url):
    return sorted(parse_qsl(urlsplit(url).query))


# Sharing -------------------------------------------------------------------------------------------------


class TestWhoSharesHow:
    def test_each_role_shares_as_far_as_it_may(self, admin_user, manager, employee, marketer):
        assert saved_views.visibilities_for(employee) == (Visibility.PRIVATE,)
        assert saved_views.visibilities_for(manager) == (Visibility.PRIVATE, Visibility.BRAND)
        assert saved_views.visibilities_for(admin_user) == tuple(Visibility.values)
        assert saved_views.visibilities_for(marketer) == ()

    def test_an_employee_cannot_share(self, employee, brands):
        with pytest.raises(ValidationError) as error:
            save(employee, visibility=Visibility.BRAND, brands=[brands["intralog"]])
        assert field_errors(error) == {"visibility"}
        assert not SavedView.objects.exists()

    def test_a_manager_shares_with_their_brand_only(self, manager, brands):
        with pytest.raises(ValidationError) as error:
            save(manager, visibility=Visibility.BRAND, brands=[brands["intrapal"]])
        assert field_errors(error) == {"brands"}
        with pytest.raises(ValidationError) as error:
            save(manager, visibility=Visibility.BRAND, brands=[])
        assert field_errors(error) == {"brands"}
        with pytest.raises(ValidationError) as error:
            save(manager, visibility=Visibility.EVERYONE)
        assert field_errors(error) == {"visibility"}
        view = save(manager, visibility=Visibility.BRAND, brands=[brands["intralog"]])
        assert list(view.brands.all()) == [brands["intralog"]]

    def test_an_admin_shares_with_any_brand_or_everyone(self, admin_user, brands):
        save(admin_user, "Intrapal", visibility=Visibility.BRAND, brands=[brands["intrapal"]])
        assert save(admin_user, "Todos", visibility=Visibility.EVERYONE).is_shared

    def test_marketing_saves_no_views(self, marketer):
        with pytest.raises(PermissionDenied):
            save(marketer)

    def test_a_name_is_required_unique_per_owner_and_kind(self, manager, employee):
        with pytest.raises(ValidationError) as error:
            save(employee, name="   ")
        assert field_errors(error) == {"name"}
        save(employee, name="Mis  abiertos ")
        assert SavedView.objects.get().name == "Mis abiertos"
        with pytest.raises(ValidationError) as error:
            save(employee, name="mis abiertos")
        assert field_errors(error) == {"name"}
        save(employee, name="Mis abiertos", kind=BOARD)
        save(manager, name="Mis abiertos")
        assert SavedView.objects.count() == 3

    def test_a_query_too_long_is_refused(self, employee):
        with pytest.raises(ValidationError) as error:
            save(employee, query="q=" + "x" * saved_views.MAX_QUERY)
        assert field_errors(error) == {"query"}


class TestWhoSeesWhich:
    @pytest.fixture
    def views(self, admin_user, manager, other_manager, employee, brands):
        return {
            "manager_private": save(manager, "Privada del gerente"),
            "manager_brand": save(
                manager, "Equipo Intralog", visibility=Visibility.BRAND, brands=[brands["intralog"]]
            ),
            "intrapal_brand": save(
                other_manager, "Equipo Intrapal", visibility=Visibility.BRAND, brands=[brands["intrapal"]]
            ),
            "everyone": save(admin_user, "Para todos", visibility=Visibility.EVERYONE),
            "admin_private": save(admin_user, "Privada del admin"),
            "employee_private": save(employee, "Privada del vendedor"),
        }

    @pytest.mark.parametrize(
        "role, expected",
        [
            ("admin", {"admin_private", "manager_brand", "intrapal_brand", "everyone"}),
            ("manager", {"manager_private", "manager_brand", "everyone"}),
            ("other_manager", {"intrapal_brand", "everyone"}),
            ("employee", {"employee_private", "manager_brand", "everyone"}),
            ("other_employee", {"manager_brand", "everyone"}),
            ("intrapal_employee", {"intrapal_brand", "everyone"}),
            ("marketer", set()),
        ],
    )
    def test_views_for_each_role(self, request, views, role, expected):
        person = request.getfixturevalue("admin_user" if role == "admin" else role)
        names = {
            key for key, view in views.items() if saved_views.views_for(person).filter(pk=view.pk).exists()
        }
        assert names == expected

    def test_a_share_lapses_with_the_owners_right_to_share(self, views, manager, employee):
        manager.role = Role.EMPLOYEE
        manager.save()
        assert not saved_views.views_for(employee).filter(pk=views["manager_brand"].pk).exists()
        SavedView.objects.filter(pk=views["manager_private"].pk).update(visibility=Visibility.EVERYONE)
        assert not saved_views.views_for(employee).filter(pk=views["manager_private"].pk).exists()

    def test_only_the_owner_changes_a_view(self, views, admin_user, employee, brands):
        with pytest.raises(PermissionDenied):
            saved_views.update_view(
                views["manager_brand"], admin_user, name="Otra", visibility=Visibility.PRIVATE
            )
        with pytest.raises(PermissionDenied):
            saved_views.update_view(
                views["manager_brand"], employee, name="Otra", visibility=Visibility.PRIVATE
            )
        views["manager_brand"].refresh_from_db()
        assert (views["manager_brand"].name, views["manager_brand"].visibility) == (
            "Equipo Intralog",
            "brand",
        )

    def test_owners_delete_theirs_and_admins_any_shared_view(self, views, admin_user, manager, other_manager):
        for actor, view in (
            (admin_user, "manager_private"),
            (other_manager, "manager_brand"),
            (manager, "everyone"),
        ):
            with pytest.raises(PermissionDenied):
                saved_views.delete_view(views[view], actor)
        saved_views.delete_view(views["intrapal_brand"], admin_user)
        saved_views.delete_view(views["manager_private"], manager)
        assert not SavedView.objects.filter(
            pk__in=[views["intrapal_brand"].pk, views["manager_private"].pk]
        ).exists()


class TestDefaults:
    @pytest.mark.parametrize(
        "role, key",
        [("employee", "my-open"), ("manager", "open"), ("admin_user", "open")],
    )
    def test_each_role_has_a_built_in_default(self, request, role, key):
        default = saved_views.default_for(request.getfixturevalue(role))
        assert (default.builtin.key, default.kind, default.chosen) == (key, LISTING, False)

    def test_marketing_has_no_default(self, marketer):
        assert saved_views.default_for(marketer) is None
        assert saved_views.builtin_views_for(marketer) == []

    def test_a_chosen_view_is_the_default_while_the_person_may_open_it(self, manager, employee, brands):
        shared = save(manager, "Equipo", visibility=Visibility.BRAND, brands=[brands["intralog"]])
        saved_views.set_default(employee, view=shared)
        assert saved_views.default_for(employee).view == shared
        saved_views.update_view(shared, manager, name="Equipo", visibility=Visibility.PRIVATE)
        assert saved_views.default_for(employee).builtin.key == "my-open"
        shared.delete()
        assert not DefaultView.objects.exists()

    def test_a_view_one_may_not_open_cannot_be_the_default(self, manager, employee):
        with pytest.raises(PermissionDenied):
            saved_views.set_default(employee, view=save(manager, "Privada"))

    def test_a_built_in_default_as_listing_or_board(self, employee):
        saved_views.set_default(employee, builtin="overdue", kind=BOARD)
        default = saved_views.default_for(employee)
        assert (default.builtin.key, default.kind, default.chosen) == ("overdue", BOARD, True)
        for builtin, kind in (("unassigned", LISTING), ("nope", LISTING), ("overdue", "table")):
            with pytest.raises(ValidationError):
                saved_views.set_default(employee, builtin=builtin, kind=kind)
        saved_views.clear_default(employee)
        assert saved_views.default_for(employee).builtin.key == "my-open"

    def test_a_built_in_view_on_the_board_has_no_sort(self):
        overdue = next(view for view in saved_views.BUILTIN_VIEWS if view.key == "overdue")
        assert overdue.query_for(LISTING) == "next_action=overdue&ordering=next_action_at"
        assert overdue.query_for(BOARD) == "next_action=overdue"


def test_normalise_query_keeps_known_non_empty_parameters_in_a_stable_order():
    data = QueryDict("status=3&p=2&export=csv&q=&stage=active&status=1&junk=1&_w_filter_fragment=1")
    names = {"status", "stage", "q", "ordering"}
    assert saved_views.normalise_query(data, names) == "stage=active&status=1&status=3"
    assert saved_views.normalise_query(QueryDict("status=1&stage=active&status=3"), names) == (
        "stage=active&status=1&status=3"
    )


# The pages -----------------------------------------------------------------------------------------------


def save_url(kind=LISTING, query=""):
    url = reverse("crm_leads:view_save", args=[kind])
    return f"{url}?{query}" if query else url


class TestSaving:
    def test_the_form_shows_what_the_view_keeps(self, client_for, manager, leads):
        response = client_for(manager).get(save_url(query="stage=active&q=Ana&ordering=-next_action_at&p=3"))
        assert response.status_code == 200
        content = response.content.decode()
        assert "New or open" in content and "Ana" in content and "Next action, descending" in content
        assert 'value="brand"' in content and 'value="everyone"' not in content

    def test_save_keeps_only_filters_search_and_sort_and_opens_the_view(self, client_for, manager, brands):
        client = client_for(manager)
        response = client.post(
            save_url(query="stage=active&q=Ana&p=3&export=csv&nonsense=1&ordering=next_action_at"),
            {"name": "Abiertos", "visibility": "brand", "brands": [brands["intralog"].pk]},
        )
        view = SavedView.objects.get()
        assert location(response) == reverse("crm_leads:view_open", args=[view.pk])
        assert (view.owner, view.kind, view.visibility) == (manager, LISTING, Visibility.BRAND)
        assert view.query == "ordering=next_action_at&q=Ana&stage=active"
        opened = location(client.get(location(response)))
        assert opened.startswith(reverse("crm_leads:list") + "?")
        assert query_of(opened) == [("ordering", "next_action_at"), ("q", "Ana"), ("stage", "active")]

    def test_a_filter_the_listing_refuses_is_not_saved(self, client_for, employee, other_employee):
        client = client_for(employee)
        client.post(
            save_url(query=f"assignee={other_employee.pk}&stage=nope&next_action=today"), {"name": "Rara"}
        )
        assert SavedView.objects.get().query == "next_action=today"

    def test_a_board_view_keeps_no_sort_and_opens_the_board(self, client_for, employee):
        client = client_for(employee)
        client.post(save_url(BOARD, "next_action=overdue&ordering=contact_name"), {"name": "Tablero"})
        view = SavedView.objects.get()
        assert (view.kind, view.query) == (BOARD, "next_action=overdue")
        assert location(client.get(reverse("crm_leads:view_open", args=[view.pk]))) == (
            reverse("crm_leads:board") + "?next_action=overdue"
        )

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"name": ""}, "name"),
            ({"name": "x" * 200}, "name"),
            ({"name": "Compartida", "visibility": "brand"}, "visibility"),
            ({"name": "Compartida", "visibility": "everyone"}, "visibility"),
            ({"name": "Compartida", "visibility": "nope"}, "visibility"),
        ],
    )
    def test_bad_input_is_a_form_error(self, client_for, employee, data, field):
        response = client_for(employee).post(
            save_url(query="stage=active"), {"visibility": "private", **data}
        )
        assert response.status_code == 200
        assert field in response.context["form"].errors
        assert not SavedView.objects.exists()

    def test_sharing_with_a_brand_not_theirs_is_a_form_error(self, client_for, manager, brands):
        response = client_for(manager).post(
            save_url(), {"name": "Ajena", "visibility": "brand", "brands": [brands["intrapal"].pk]}
        )
        assert response.status_code == 200 and "brands" in response.context["form"].errors
        assert not SavedView.objects.exists()

    def test_a_duplicate_name_is_a_form_error(self, client_for, employee):
        save(employee, "Mía")
        response = client_for(employee).post(save_url(), {"name": "MÍA", "visibility": "private"})
        assert response.status_code == 200 and "name" in response.context["form"].errors

    def test_an_unknown_kind_is_a_404(self, client_for, employee):
        assert client_for(employee).get(reverse("crm_leads:view_save", args=["table"])).status_code == 404

    def test_save_as_default_makes_the_leads_menu_open_it(self, client_for, employee):
        client = client_for(employee)
        client.post(save_url(query="next_action=today"), {"name": "Hoy", "make_default": "on"})
        assert saved_views.default_for(employee).view == SavedView.objects.get()
        home = client.get(reverse("crm_leads_home"))
        assert location(home) == reverse("crm_leads:list") + "?next_action=today"


class TestOpeningAnotherPersonsView:
    def test_a_managers_brand_view_shows_an_employee_only_their_own_leads(
        self, client_for, manager, employee, leads, brands
    ):
        view = save(manager, "Abiertos del equipo", visibility=Visibility.BRAND, brands=[brands["intralog"]])
        assert set(
            listed_names(
                client_for(manager)
                .get(location(client_for(manager).get(reverse("crm_leads:view_open", args=[view.pk]))))
                .content.decode()
            )
        ) == {"Ana Propia", "Carla Colega", "Dario Libre"}
        client = client_for(employee)
        opened = location(client.get(reverse("crm_leads:view_open", args=[view.pk])))
        assert query_of(opened) == [("stage", "active")]
        assert listed_names(client.get(opened).content.decode()) == ["Ana Propia"]

    def test_a_filter_naming_someone_the_opener_cannot_choose_is_left_out_with_a_message(
        self, client_for, manager, employee, other_employee, leads, brands
    ):
        view = save(
            manager,
            "De Carla",
            query=f"assignee={other_employee.pk}&stage=active",
            visibility=Visibility.BRAND,
            brands=[brands["intralog"]],
        )
        client = client_for(employee)
        response = client.get(reverse("crm_leads:view_open", args=[view.pk]), follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == reverse("crm_leads:list") + "?stage=active"
        messages = [str(message) for message in response.context["messages"]]
        assert any("“De Carla”" in message and "Assignee" in message for message in messages), messages
        assert listed_names(response.content.decode()) == ["Ana Propia"]

    def test_an_admins_view_of_another_brand_shows_a_manager_only_their_brand(
        self, client_for, admin_user, manager, leads, brands
    ):
        view = save(
            admin_user,
            "Intrapal",
            query=f"brand={brands['intrapal'].pk}",
            visibility=Visibility.EVERYONE,
        )
        response = client_for(manager).get(reverse("crm_leads:view_open", args=[view.pk]), follow=True)
        assert response.status_code == 200
        names = set(listed_names(response.content.decode()))
        assert "Elena Intrapal" not in names and names <= {
            "Ana Propia",
            "Beto Ganado",
            "Carla Colega",
            "Dario Libre",
        }

    def test_a_listing_link_naming_someone_else_shows_none_of_their_leads(
        self, client_for, employee, other_employee, leads
    ):
        response = client_for(employee).get(reverse("crm_leads:list"), {"assignee": other_employee.pk})
        assert response.status_code == 200
        assert "Carla Colega" not in set(listed_names(response.content.decode()))

    def test_a_view_not_shared_with_the_opener_is_a_404(self, client_for, manager, other_manager, employee):
        private = save(manager, "Privada")
        for person in (other_manager, employee):
            assert (
                client_for(person).get(reverse("crm_leads:view_open", args=[private.pk])).status_code == 404
            )


class TestChanging:
    @pytest.fixture
    def view(self, manager, brands):
        return save(manager, "Equipo", visibility=Visibility.BRAND, brands=[brands["intralog"]])

    def test_the_owner_renames_and_unshares(self, client_for, manager, view):
        url = reverse("crm_leads:view_edit", args=[view.pk])
        client = client_for(manager)
        assert client.get(url).status_code == 200
        response = client.post(url, {"name": "Solo mío", "visibility": "private"})
        assert location(response) == reverse("crm_leads:view_open", args=[view.pk])
        view.refresh_from_db()
        assert (view.name, view.visibility, list(view.brands.all())) == ("Solo mío", "private", [])

    def test_an_empty_name_is_a_form_error(self, client_for, manager, view):
        response = client_for(manager).post(reverse("crm_leads:view_edit", args=[view.pk]), {"name": ""})
        assert response.status_code == 200 and "name" in response.context["form"].errors

    def test_unticking_default_gives_the_menu_back_to_the_role(self, client_for, manager, view):
        saved_views.set_default(manager, view=view)
        client_for(manager).post(
            reverse("crm_leads:view_edit", args=[view.pk]),
            {"name": "Equipo", "visibility": "brand", "brands": [view.brands.get().pk]},
        )
        assert not DefaultView.objects.exists()

    def test_delete_asks_then_deletes(self, client_for, manager, view):
        client = client_for(manager)
        url = reverse("crm_leads:view_delete", args=[view.pk])
        assert "Equipo" in client.get(url).content.decode()
        assert location(client.post(url)) == reverse("crm_leads:views")
        assert not SavedView.objects.exists()


class TestDefaultChoice:
    def test_the_leads_menu_opens_the_role_default(self, client_for, employee, manager):
        employee_home = location(client_for(employee).get(reverse("crm_leads_home")))
        assert query_of(employee_home) == [
            ("assignee", "mine"),
            ("ordering", "next_action_at"),
            ("stage", "active"),
        ]
        assert query_of(location(client_for(manager).get(reverse("crm_leads_home")))) == [("stage", "active")]

    def test_the_sidebar_leads_item_goes_through_the_default(self, client_for, employee):
        content = client_for(employee).get(reverse("wagtailadmin_home")).content.decode()
        assert reverse("crm_leads_home") in content

    def test_choosing_a_shared_view_or_a_built_in_one(self, client_for, manager, employee, brands):
        shared = save(manager, "Equipo", visibility=Visibility.BRAND, brands=[brands["intralog"]])
        client = client_for(employee)
        url = reverse("crm_leads:view_default")
        assert location(client.post(url, {"view": shared.pk})) == reverse("crm_leads:views")
        assert location(client.get(reverse("crm_leads_home"))) == reverse("crm_leads:list") + "?stage=active"
        client.post(url, {"builtin": "overdue", "kind": "board", "next": reverse("crm_leads:list")})
        assert (
            location(client.get(reverse("crm_leads_home")))
            == reverse("crm_leads:board") + "?next_action=overdue"
        )
        client.post(url, {"clear": "1"})
        assert not DefaultView.objects.exists()

    @pytest.mark.parametrize(
        "data", [{"builtin": "nope"}, {"builtin": "unassigned"}, {"builtin": "overdue", "kind": "x"}, {}]
    )
    def test_a_built_in_view_not_offered_is_a_400(self, client_for, employee, data):
        assert client_for(employee).post(reverse("crm_leads:view_default"), data).status_code == 400
        assert not DefaultView.objects.exists()

    @pytest.mark.parametrize("pk", ["abc", "9" * 30, "-1"])
    def test_a_view_that_is_no_view_is_a_404(self, client_for, employee, pk):
        assert client_for(employee).post(reverse("crm_leads:view_default"), {"view": pk}).status_code == 404


class TestMenu:
    @pytest.fixture
    def views(self, admin_user, manager, employee, brands):
        return {
            "mine": save(employee, "Mis vencidos", query="next_action=overdue"),
            "shared": save(manager, "Del equipo", visibility=Visibility.BRAND, brands=[brands["intralog"]]),
            "private": save(manager, "Del gerente"),
            "board": save(employee, "Mi tablero", kind=BOARD),
        }

    def menu(self, response):
        content = response.content.decode()
        start = content.index("data-crm-views-menu")
        return content[start : content.index("</nav>", start)]

    def test_the_listing_menu_offers_the_persons_views_and_marks_the_open_one(
        self, client_for, employee, views
    ):
        client = client_for(employee)
        menu = self.menu(client.get(reverse("crm_leads:list"), {"next_action": "overdue", "p": "1"}))
        assert "Mis vencidos" in menu and "Del equipo" in menu and "My open leads by next action" in menu
        assert "Del gerente" not in menu and "Mi tablero" not in menu and "Unassigned open leads" not in menu
        assert menu.count('aria-current="true"') == 1
        current = menu[menu.index('aria-current="true"') :]
        assert current.index("Mis vencidos") < current.index("</a>")
        assert "?next_action=overdue" in menu  # the save link carries the filters on screen

    @pytest.mark.parametrize(
        "results, kind", [("crm_leads:list_results", LISTING), ("crm_leads:board_results", BOARD)]
    )
    def test_changing_filters_redraws_the_menu_with_them(self, client_for, employee, views, results, kind):
        content = client_for(employee).get(reverse(results), {"next_action": "today"}).content.decode()
        assert reverse("crm_leads:view_save", args=[kind]) + "?next_action=today" in content

    def test_the_board_menu_offers_board_views(self, client_for, employee, views):
        menu = self.menu(client_for(employee).get(reverse("crm_leads:board")))
        assert "Mi tablero" in menu and "Mis vencidos" not in menu
        assert reverse("crm_leads:view_save", args=["board"]) in menu

    def test_the_manage_page_lists_own_shared_and_built_in_views(self, client_for, employee, views):
        response = client_for(employee).get(reverse("crm_leads:views"))
        assert response.status_code == 200
        content = response.content.decode()
        for name in ("Mis vencidos", "Mi tablero", "Del equipo", "My open leads by next action"):
            assert name in content
        assert "Del gerente" not in content
        assert reverse("crm_leads:view_edit", args=[views["mine"].pk]) in content
        assert reverse("crm_leads:view_edit", args=[views["shared"].pk]) not in content
        assert reverse("crm_leads:view_delete", args=[views["shared"].pk]) not in content
