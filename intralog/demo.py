"""The demo data of a fresh install, app by app in the order they build on each other (``manage.py seed_demo``).

Each app offers its own demo pieces; only here are they put together, so no app imports another's demo.
"""

from io import TextIOBase
from typing import Any

from alerts import demo as alerts_demo
from crm import demo as crm_demo
from dashboards import demo as dashboards_demo
from forms_builder import demo as forms_demo
from home import demo as home_demo
from wordpress import demo as wordpress_demo


def seed_public_site(stdout: TextIOBase) -> None:
    """Each brand's lead form page under the home page, and the home page's demo content linking to them."""
    home = home_demo.home_page()
    if home is None:
        return
    forms = forms_demo.ensure_form_pages(home, stdout)
    home_demo.fill_home_page(home, forms, stdout)


def seed(stdout: TextIOBase, options: dict[str, Any]) -> None:
    """People and leads, the public site, the dashboards' rollup of those leads, a WordPress source, alert rules."""
    crm_demo.seed(stdout, options)
    seed_public_site(stdout)
    dashboards_demo.seed(stdout, options)
    wordpress_demo.seed(stdout, options)
    alerts_demo.seed(stdout, options)
