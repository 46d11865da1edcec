"""Links into the admin come from the URL resolver: none is written out in the code, and the dashboards'
lead links open the lead's page."""

import re
from pathlib import Path

from django.urls import reverse

from tests.dashboards.test_dashboards_dataset import build

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = [
    "alerts",
    "bench",
    "crm",
    "dashboards",
    "forms_builder",
    "home",
    "intralog",
    "templates",
    "wordpress",
]
HARD_CODED_ADMIN_PATH = re.compile(r"""https?://\S*/admin/|["'`]/admin/|/snippets/crm/""")


def test_no_admin_path_is_written_out_in_the_code():
    found = []
    for directory in APP_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if path.suffix not in (".py", ".html", ".txt", ".js") or "vendor" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if HARD_CODED_ADMIN_PATH.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_dashboard_lead_links_open_the_lead_page(brands, manager, employee, other_employee, client_for):
    build(brands, manager, employee, other_employee)
    client = client_for(manager)
    query = "period=custom&start=2026-03-01&end=2026-03-31"
    html = client.get(f"{reverse('dashboards:overview')}?{query}").content.decode()
    latest = html.split('data-table="latest"')[1].split("</table>")[0]
    links = re.findall(r'<a href="([^"]+)">(L\d)</a>', latest)
    assert links
    for href, name in links:
        assert re.fullmatch(r"/admin/leads/inspect/\d+/", href)
        response = client.get(href)
        assert response.status_code == 200
        assert name in response.content.decode()
