"""A fake WordPress site for tests, demos and the benchmark (threaded ``http.server`` on 127.0.0.1).

It serves generated Spanish submissions in the three pull shapes, with WordPress' Basic-auth behaviour
and injectable faults (status codes, ``Retry-After``, HTML pages, cut-off JSON, delays, dropped connections).

Spam and trash as each real API serves them: the legacy endpoint lists active submissions only (what the
site flags simply disappears from it); Gravity Forms serves one status per query (``search.status``,
active by default) and keeps an entry's ``date_updated`` when its status changes from the entries list
(``set_status(..., touch_updated=False)``); the collection serves ``status=any`` and moves ``modified_gmt``
on every change, status included.
"""

import base64
import bisect
import json
import random
import threading
import time
import zoneinfo
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LEGACY_PATH = "/wp-json/intralog/v1/forms"
GRAVITY_PATH = "/wp-json/gf/v2"
COLLECTION_PATH = "/wp-json/leads/v1/submissions"
SITE_TZ = zoneinfo.ZoneInfo("America/Argentina/Buenos_Aires")

FIRST_NAMES = [
    "Raúl",
    "María José",
    "Leandro",
    "Sofía",
    "Martín",
    "Lucía",
    "Agustín",
    "Valentina",
    "José",
    "Ñuflo",
]
LAST_NAMES = ["Sosa", "Núñez Medina", "Fernández", "Gómez", "Pérez", "Rodríguez", "López", "Díaz", "Acuña"]
COMPANIES = [
    "Farmacia Central SA",
    "Logística del Sur SRL",
    "Agro Pampa",
    "Distribuidora Norte",
    "Textil Río",
]
LOCATIONS = ["Neuquén", "Córdoba", "Rosario", "CABA", "Mendoza", "La Plata", "Tucumán", "Bahía Blanca"]
INTRALOG_SERVICES = ["Almacenamiento y depósito", "Transporte", "Comercio exterior"]
INTRAPAL_SERVICES = ["Compra de pallets", "Alquiler de pallets", "Pallets a medida"]
JOB_SEEKER = "Busco trabajo/ Ofrezco productos o servicios"
PHONES = [
    "(0351) 15 497-{n4}",
    "+54 9 11 {n4}-{n4}",
    "011 15-{n4}-{n4}",
    "341 514 {n4}",
    "15-{n4}-{n4}",
    "no tengo",
]
MESSAGES = [
    "Necesitamos pallets a medida para exportación.",
    "Quisiera una cotización de almacenamiento por 3 meses.\nGracias!",
    "Hola, ¿hacen envíos a Neuquén? 🚚",
    "<script>alert(1)</script> consulta",
    '=HYPERLINK("http://spam.example","click")',
    "",
]
INTRALOG_FORMS = {"3", "4", "5"}


def _name(rng):
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def generate_submission(rng, submission_id, form_id, created):
    """One submission as the site holds it: labels → values (absent when left empty)."""
    first, last = _name(rng)
    services = INTRALOG_SERVICES if form_id in INTRALOG_FORMS else INTRAPAL_SERVICES
    n4 = f"{rng.randint(1000, 9999)}"
    fields = {
        "Nombre y apellido": f"{first} {last}",
        "Email": f"{first.split()[0].lower()}.{rng.randint(1, 99999)}@gmail.com".replace("ú", "u").replace(
            "í", "i"
        ),
        "Teléfono": rng.choice(PHONES).format(n4=n4),
        "Ubicación": rng.choice(LOCATIONS),
        "Me interesa el servicio": rng.choice([*services, JOB_SEEKER])
        if rng.random() < 0.95
        else "Otro servicio",
        "Mensaje": rng.choice(MESSAGES),
    }
    if form_id in INTRALOG_FORMS:
        fields["Razón social"] = rng.choice(COMPANIES)
    if rng.random() < 0.3:
        fields.update(
            utm_source="google", utm_medium="cpc", utm_campaign=rng.choice(["verano", "{campaignname}"])
        )
    fields = {key: value for key, value in fields.items() if value}
    return {
        "id": submission_id,
        "form_id": form_id,
        "created": created,
        "updated": created,
        "status": "active",
        "fields": fields,
        "first": first,
        "last": last,
        "meta": {
            "ip": f"190.2.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "source_url": "https://intralog.example/contacto/?utm_source=google",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        },
    }


# ``messy=True``: what real sites hold (see shared/reference/wordpress-sources.md, "What real submissions contain").
MESSY_EMAILS_INVALID = [
    "x@gmail",
    "@@",
    "juan.perez@hotmail.con",
    "ventas@empresa",
    "no tengo",
    "asdf",
    "-",
    "N/A",
]
MESSY_PHONES = [
    "(0351) 15 {c}-{a}",
    "+54 9 11 {a}-{b}",
    "011 15-{a}-{b}",
    "341 4{c}-{a}",
    "15-{a}-{b}",
    "+54 9 351 {c}-{a}",
    "(011) 4{c}-{a}",
    "0351-15-{c}-{a}",
    "11 {a} {b}",
    "tel: 0261 4{c}{a} / cel 15{a}{b}",
]
MESSY_PHONES_INVALID = [
    "123",
    "no tengo",
    "1,5E+10",
    "0",
    "-",
    "N/A",
    "+54 9 11 1234",
    "asdf",
    "llamar de 9 a 18",
]
MESSY_SERVICES_UNKNOWN = ["Otro servicio", "Consulta general", "Logística inversa", "Cross docking", "Fletes"]
MESSY_JUNK = ["N/A", "-", "asdf", "...", "x", "ninguno"]
MESSY_SHORT = [
    "Necesito cotización urgente.",
    "Hola, ¿hacen envíos a Neuquén? 🚚",
    "Quisiera una cotización de almacenamiento por 3 meses.\nGracias!",
    "Precio por pallet? 🙏🙏",
    "Llamenme al celu",
    "Buenas tardes,\tnecesito info\t\tde alquiler.",
    "consulta",
    "Necesitamos pallets a medida para exportación.",
]
MESSY_ODD = [
    "<script>alert(1)</script> consulta",
    '<img src=x onerror="alert(1)">Hola',
    '=HYPERLINK("http://spam.example","click")',
    "+CMD|' /C calc'!A0",
    "'; DROP TABLE crm_lead; --",
    "1 OR 1=1",
    "你好，我们需要仓储服务 请联系",
    "مرحبا، نحتاج إلى خدمات النقل",
    "Hola\u200b\u200bcon\u200dcaracteres\ufeffinvisibles",
    "🚚📦🚚📦 ¡¡¡URGENTE!!! 🔥🔥🔥",
    "Ñandú S.A. — señalización “especial” ½ pallet",
]
MESSY_TEXT = (
    "necesitamos cotizar transporte de mercadería desde el puerto de Buenos Aires hasta el depósito "
    "en Córdoba son aproximadamente veinte pallets por semana con carga refrigerada y seguro incluido "
    "además queremos saber si ofrecen almacenamiento temporario y gestión de stock 📦 por favor"
)
MESSY_WORDS = MESSY_TEXT.split()
MESSY_UTM_SOURCES = [" Google ", "FACEBOOK", "ig", "Instagram Ads", "google", "{campaignname}", "(not set)"]
MESSY_UTM_CAMPAIGNS = [
    "Verano 2025",
    " verano-2025 ",
    "{{campaign.name}}",
    "intrapal-alquiler",
    "BLACK FRIDAY",
]


def _messy_message(rng):
    roll = rng.random()
    if roll < 0.12:
        return ""
    if roll < 0.45:
        return rng.choice(MESSY_SHORT)
    if roll < 0.55:
        return rng.choice(MESSY_ODD)
    if roll < 0.60:
        links = " ".join(
            f"https://spam{rng.randint(1, 999)}.example/p?id={rng.randint(1, 9999)}"
            for _ in range(rng.randint(3, 8))
        )
        return f"SEO services, cheap backlinks!!! {links}"
    if roll < 0.97:
        words = rng.choices(MESSY_WORDS, k=rng.randint(20, 120))
        lines = [" ".join(words[start : start + 12]) for start in range(0, len(words), 12)]
        return "\n".join(lines) + ("\n\n\t-- enviado desde mi celular" if rng.random() < 0.2 else "")
    words = rng.choices(MESSY_WORDS, k=rng.randint(300, 3000))
    return "\n".join(" ".join(words[start : start + 15]) for start in range(0, len(words), 15))


def _messy_phone(rng):
    if rng.random() < 0.1:
        return rng.choice(MESSY_PHONES_INVALID)
    return rng.choice(MESSY_PHONES).format(
        a=rng.randint(1000, 9999), b=rng.randint(1000, 9999), c=rng.randint(100, 999)
    )


def _reformatted_email(rng, email):
    roll = rng.random()
    if roll < 0.3:
        return email.upper()
    if roll < 0.5:
        return f"  {email} "
    return email


def generate_messy_submission(rng, submission_id, form_id, created, people, previous=None):  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
    """A submission as real sites hold it: repeat people and double submits, invalid emails and phones,
    long, odd and spammy messages, unknown services, job seekers, junk answers and odd UTMs.

    ``people``: earlier contacts per brand group (``{is INTRALOG: [(name, email, phone)]}``), which
    repeat visitors reuse;
    ``previous``: the form's last submission, which a double submit copies seconds later.
    """
    item = generate_submission(rng, submission_id, form_id, created)
    fields = item["fields"]
    intralog = form_id in INTRALOG_FORMS
    if previous is not None and rng.random() < 0.02:
        item["fields"] = dict(previous["fields"])
        item["first"], item["last"] = previous["first"], previous["last"]
        item["created"] = item["updated"] = max(
            created, previous["created"] + timedelta(seconds=rng.randint(2, 40))
        )
        return item
    group = people.setdefault(intralog, [])
    if group and rng.random() < 0.18:
        name, email, phone = group[rng.randrange(max(0, len(group) - 4000), len(group))]
        item["first"], _sep, item["last"] = name.partition(" ")
        fields["Nombre y apellido"] = name if rng.random() < 0.7 else name.upper()
        fields["Email"] = _reformatted_email(rng, email) if email else ""
        fields["Teléfono"] = phone if rng.random() < 0.5 else _messy_phone(rng)
    else:
        roll = rng.random()
        if roll < 0.06:
            fields["Email"] = ""
        elif roll < 0.15:
            fields["Email"] = rng.choice(MESSY_EMAILS_INVALID)
        fields["Teléfono"] = _messy_phone(rng)
        if rng.random() < 0.05:
            fields["Nombre y apellido"] = rng.choice([*MESSY_JUNK, "<b>Juan</b>", "=1+1", "JUAN PEREZ 😀"])
        group.append((fields.get("Nombre y apellido", ""), fields.get("Email", ""), fields["Teléfono"]))
    roll = rng.random()
    services = INTRALOG_SERVICES if intralog else INTRAPAL_SERVICES
    if roll < 0.62:
        fields["Me interesa el servicio"] = rng.choice(services)
    elif roll < 0.72:
        fields["Me interesa el servicio"] = JOB_SEEKER
    elif roll < 0.80:
        fields["Me interesa el servicio"] = rng.choice(MESSY_SERVICES_UNKNOWN)
    elif roll < 0.85:
        fields["Me interesa el servicio"] = rng.choice(MESSY_JUNK)
    else:
        fields.pop("Me interesa el servicio", None)
    fields["Mensaje"] = _messy_message(rng)
    if rng.random() < 0.06:
        fields["Ubicación"] = rng.choice(
            [*MESSY_JUNK, "Córdoba capital, barrio Güemes 🏠", "CABA\t(Palermo)"]
        )
    if intralog and rng.random() < 0.05:
        fields["Razón social"] = rng.choice(['=HYPERLINK("http://x.example")', "<i>ACME</i> S.A.", "N/A"])
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        fields.pop(key, None)
    roll = rng.random()
    if roll < 0.25:
        fields.update(
            utm_source=rng.choice(MESSY_UTM_SOURCES),
            utm_medium=rng.choice(["cpc", " CPC", "social", "email", "{medium}"]),
            utm_campaign=rng.choice(MESSY_UTM_CAMPAIGNS),
        )
    elif roll < 0.35:
        campaign = rng.choice(MESSY_UTM_CAMPAIGNS).strip().replace(" ", "+")
        item["meta"]["source_url"] = (
            f"https://intralog.example/contacto/?utm_source=facebook&utm_medium=social&utm_campaign={campaign}"
        )
    else:
        item["meta"]["source_url"] = "https://intralog.example/contacto/"
    item["fields"] = {key: value for key, value in fields.items() if value}
    return item


GRAVITY_FIELDS = [
    (1, "Nombre y apellido", [("1.3", "Nombre"), ("1.6", "Apellido")]),
    (2, "Razón social", None),
    (3, "Email", None),
    (4, "Teléfono", None),
    (5, "Ubicación", None),
    (6, "Me interesa el servicio", None),
    (7, "Mensaje", None),
    (8, "utm_source", None),
    (9, "utm_medium", None),
    (10, "utm_campaign", None),
]


class Fault:
    """A fault applied to the requests whose path contains ``path``, after ``skip`` of them, ``times`` times."""

    def __init__(self, path="", status=200, retry_after=None, body="json", delay=0.0, times=1, skip=0):
        self.path, self.status, self.retry_after = path, status, retry_after
        self.body, self.delay, self.times, self.skip = body, delay, times, skip
        self.seen = 0
        self.applied = 0

    def matches(self, path):
        if self.path not in path or self.applied >= self.times:
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        self.applied += 1
        return True


class FakeWordPress:
    """The fake site. ``start()`` returns its root URL; ``faults`` are consumed in order."""

    def __init__(
        self,
        forms=None,
        username="wp-sync",
        password="abcd EFGH ijkl MNOP qrst UVWX",  # noqa: S107 - made up
        seed=1,
        *,
        messy=False,
        latency=0.0,
        item_latency=0.0,
        start=None,
    ):
        """``start``: the first generated submission's time (one a minute after it; default 1 June 2025).
        ``messy``: generate submissions as real sites hold them (``generate_messy_submission``).
        ``latency`` and ``item_latency``: seconds each answer takes, plus per item it holds, as a
        remote site's (slept, not spent: concurrent requests overlap as on a server with many workers).
        """
        self.username = username
        self.messy = messy
        self.latency = latency
        self.item_latency = item_latency
        self.people = {}
        self.password = password
        self.readonly_username = "wp-viewer"
        self.submissions = {}
        self.lock = threading.Lock()
        self.faults = []
        self.overrides = {}
        self.requests = []
        self.server_seconds = 0.0
        self.next_id = 1
        self.rng = random.Random(seed)
        self.server = None
        self.thread = None
        start = start or datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
        for form_id, count in (forms or {"3": 30, "7": 20}).items():
            self.submissions.setdefault(str(form_id), [])
            for _ in range(count):
                self.add(form_id, created=start + timedelta(minutes=self.next_id))

    # ---- data ----

    def add(self, form_id, fields=None, created=None, status="active"):
        """Add a submission (generated unless ``fields`` given); returns its id."""
        with self.lock:
            submission_id = self.next_id
            self.next_id += 1
            created = created or datetime.now(UTC).replace(microsecond=0)
            if self.messy and fields is None:
                earlier = self.submissions.get(str(form_id))
                item = generate_messy_submission(
                    self.rng,
                    submission_id,
                    str(form_id),
                    created,
                    self.people,
                    earlier[-1] if earlier else None,
                )
            else:
                item = generate_submission(self.rng, submission_id, str(form_id), created)
            if fields is not None:
                item["fields"] = dict(fields)
                name = str(fields.get("Nombre y apellido", ""))
                item["first"], _sep, item["last"] = name.partition(" ")
            item["status"] = status
            self.submissions.setdefault(str(form_id), []).append(item)
            return submission_id

    def set_status(self, submission_id, status, touch_updated=True):
        """Mark a submission ``spam``, ``trash`` or ``active`` again.

        ``touch_updated=False`` is what Gravity Forms' entries list does (``GFFormsModel::update_entry_property``):
        the status changes, ``date_updated`` does not. The collection's ``modified_gmt`` moves either way.
        """
        with self.lock:
            for items in self.submissions.values():
                for item in items:
                    if item["id"] == submission_id:
                        now = datetime.now(UTC).replace(microsecond=0)
                        item["status"] = status
                        item["status_changed"] = now
                        if touch_updated:
                            item["updated"] = now
                        return item
        raise KeyError(submission_id)

    def statuses(self, form_id):
        """``{id: status}`` of the form's submissions as the site holds them."""
        return {str(item["id"]): item["status"] for item in self.submissions.get(str(form_id), [])}

    def corrupt(self, submission_id, **values):
        """Serve these raw values in the submission's item, whatever the shape (e.g. a broken date)."""
        self.overrides[submission_id] = values

    def render(self, shape, item):
        rendered = getattr(self, f"{shape}_item")(item)
        rendered.update(self.overrides.get(item["id"], {}))
        return rendered

    def ids(self, form_id):
        return {str(item["id"]) for item in self.submissions.get(str(form_id), [])}

    def fail(self, **kwargs):
        fault = Fault(**kwargs)
        self.faults.append(fault)
        return fault

    # ---- server ----

    def start(self, port=0):
        handler = type("Handler", (_Handler,), {"site": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.url

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def legacy_url(self):
        return self.url + LEGACY_PATH

    @property
    def gravity_url(self):
        return self.url

    @property
    def collection_url(self):
        return self.url + COLLECTION_PATH

    def url_for(self, shape):
        return {"legacy": self.legacy_url, "gravity": self.gravity_url, "collection": self.collection_url}[
            shape
        ]

    # ---- shapes ----

    def legacy_item(self, item):
        local = item["created"].astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M:%S")
        return {"id": item["id"], "created_at": local, **item["fields"]}

    def gravity_item(self, item):
        fields = item["fields"]
        entry = {
            "id": str(item["id"]),
            "form_id": item["form_id"],
            "date_created": item["created"].strftime("%Y-%m-%d %H:%M:%S"),
            "date_updated": item["updated"].strftime("%Y-%m-%d %H:%M:%S"),
            "status": item["status"],
            **item["meta"],
        }
        for field_id, label, inputs in GRAVITY_FIELDS:
            if inputs:
                entry[inputs[0][0]] = item["first"] if label in fields else ""
                entry[inputs[1][0]] = item["last"] if label in fields else ""
            else:
                entry[str(field_id)] = str(fields.get(label, ""))
        return entry

    def collection_item(self, item):
        return {
            "id": item["id"],
            "form_id": int(item["form_id"]) if item["form_id"].isdigit() else item["form_id"],
            "form_title": f"Formulario {item['form_id']}",
            "date": item["created"].astimezone(SITE_TZ).strftime("%Y-%m-%dT%H:%M:%S"),
            "date_gmt": item["created"].strftime("%Y-%m-%dT%H:%M:%S"),
            "modified_gmt": _modified(item).strftime("%Y-%m-%dT%H:%M:%S"),
            "status": item["status"],
            "fields": item["fields"],
            "meta": item["meta"],
        }


def _modified(item):
    """When anything about the submission last changed (an edit or its status)."""
    return max(item["updated"], item.get("status_changed", item["updated"]))


def _after(items, after_id):
    """The items (sorted by id) with an id greater than ``after_id``."""
    return items[bisect.bisect_right(items, int(after_id), key=lambda item: item["id"]) :]


def _error(code, message, status):
    return status, {"code": code, "message": message, "data": {"status": status}}, {}


class _Handler(BaseHTTPRequestHandler):
    site: FakeWordPress
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        started = time.perf_counter()
        try:
            self._handle()
        finally:
            elapsed = time.perf_counter() - started
            with self.site.lock:
                self.site.server_seconds += elapsed

    def _handle(self):
        site = self.site
        parts = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        with site.lock:
            site.requests.append(self.path)
            fault = next(
                (fault for fault in site.faults if fault.matches(parts.path + "?" + parts.query)), None
            )
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.body == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault.body == "html":
                return self._send(
                    fault.status,
                    b"<html><body><h1>Sitio en mantenimiento</h1></body></html>",
                    "text/html",
                    fault.retry_after,
                )
            if fault.status != 200:
                body = json.dumps(
                    {"code": "rest_error", "message": "Fault", "data": {"status": fault.status}}
                )
                return self._send(fault.status, body.encode(), "application/json", fault.retry_after)
        status, payload, headers = self._route(parts.path, query)
        try:
            body = json.dumps(payload, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            body = json.dumps(payload).encode()
        if fault is not None and fault.body == "truncated":
            body = body[: max(1, len(body) // 2)]
        delay = site.latency + site.item_latency * (len(payload) if isinstance(payload, list) else 0)
        if isinstance(payload, dict):
            delay += site.item_latency * len(payload.get("entries") or payload.get("form_submissions") or ())
        if delay:
            time.sleep(delay)
        self._send(status, body, "application/json; charset=UTF-8", None, headers)

    def _send(self, status, body, content_type, retry_after=None, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _user(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        if password.replace(" ", "") != self.site.password.replace(" ", ""):
            return None
        return user if user in (self.site.username, self.site.readonly_username) else None

    def _route(self, path, query):
        user = self._user()
        if user is None:
            return _error("rest_forbidden", "Lo siento, no tienes permisos para hacer eso.", 401)
        if user != self.site.username:
            return _error("rest_forbidden", "Lo siento, no tienes permisos para hacer eso.", 403)
        with self.site.lock:
            if path.startswith(LEGACY_PATH + "/"):
                return self._legacy(path[len(LEGACY_PATH) + 1 :].strip("/"), query)
            if path.startswith(GRAVITY_PATH + "/forms/"):
                return self._gravity(path[len(GRAVITY_PATH) + len("/forms/") :].strip("/"), query)
            if path.startswith(GRAVITY_PATH + "/entries/"):
                return self._gravity_entry(path[len(GRAVITY_PATH) + len("/entries/") :].strip("/"))
            if path.rstrip("/") == COLLECTION_PATH:
                return self._collection(query)
        return _error("rest_no_route", "No se encontró ninguna ruta que coincida.", 404)

    def _legacy(self, form_id, query):
        items = self.site.submissions.get(form_id)
        if items is None:
            return _error("rest_form_not_found", "Formulario inexistente.", 404)
        rows = _after(items, query.get("since_id", 0))
        rows = [item for item in rows if item["status"] == "active"]
        if "after" in query:
            try:
                moment = datetime.fromisoformat(query["after"].replace(" ", "T")).replace(tzinfo=SITE_TZ)
            except ValueError:
                return _error("rest_invalid_param", "Parámetro(s) no válido(s): after", 400)
            rows = [item for item in rows if item["created"] >= moment]
        rows.sort(key=lambda item: item["id"], reverse=query.get("order") == "desc")
        if "limit" in query:
            rows = rows[: int(query["limit"])]
        return 200, {"form_submissions": [self.site.render("legacy", item) for item in rows]}, {}

    def _gravity(self, rest, query):
        form_id, _sep, tail = rest.partition("/")
        if form_id not in self.site.submissions:
            return _error("not_found", "Form not found", 404)
        if not tail:
            fields = []
            for field_id, label, inputs in GRAVITY_FIELDS:
                field = {"id": field_id, "label": label, "type": "text"}
                if inputs:
                    field["inputs"] = [
                        {"id": input_id, "label": input_label} for input_id, input_label in inputs
                    ]
                fields.append(field)
            return 200, {"id": int(form_id), "title": f"Formulario {form_id}", "fields": fields}, {}
        if tail != "entries":
            return _error("rest_no_route", "No route", 404)
        search = json.loads(query.get("search") or "{}")
        status = search.get("status", "active")
        rows = self.site.submissions[form_id]
        for condition in search.get("field_filters", []):
            if condition.get("key") == "id" and condition.get("operator") == ">":
                rows = _after(rows, condition["value"])
        rows = [item for item in rows if item["status"] == status]
        key = {"id": "id", "date_created": "created", "date_updated": "updated"}[
            query.get("sorting[key]", "id")
        ]
        rows.sort(
            key=lambda item: (item[key], item["id"]),
            reverse=query.get("sorting[direction]", "DESC") == "DESC",
        )
        size = int(query.get("paging[page_size]", 10))
        offset = int(query.get("paging[offset]", (int(query.get("paging[current_page]", 1)) - 1) * size))
        page = rows[offset : offset + size]
        return (
            200,
            {"total_count": len(rows), "entries": [self.site.render("gravity", item) for item in page]},
            {},
        )

    def _gravity_entry(self, entry_id):
        """``GET /gf/v2/entries/<id>``: one entry, whatever its status."""
        for items in self.site.submissions.values():
            for item in items:
                if str(item["id"]) == entry_id:
                    return 200, self.site.render("gravity", item), {}
        return _error("not_found", f"Entry with id {entry_id} not found", 404)

    def _collection(self, query):
        per_page = int(query.get("per_page", 10))
        if not 1 <= per_page <= 100:
            return _error("rest_invalid_param", "Parámetro(s) no válido(s): per_page", 400)
        form_ids = [value for value in query.get("form_id", "").split(",") if value]
        after_id = query.get("after_id", 0)
        status = query.get("status", "active")
        page = int(query.get("page", 1))
        ascending_ids = query.get("orderby") == "id" and query.get("order", "desc") == "asc"
        selected = [
            _after(items, after_id)
            for form_id, items in self.site.submissions.items()
            if not form_ids or form_id in form_ids
        ]
        if ascending_ids and status == "any" and "modified_after" not in query:
            total = sum(len(items) for items in selected)
            selected = [items[: page * per_page] for items in selected]
        else:
            total = None
        rows = [item for items in selected for item in items]
        if status != "any":
            rows = [item for item in rows if item["status"] == status]
        if "modified_after" in query:
            moment = datetime.fromisoformat(query["modified_after"].replace("Z", "+00:00"))
            rows = [item for item in rows if _modified(item) > moment]
        key = "id" if query.get("orderby") == "id" else "created"
        rows.sort(key=lambda item: (item[key], item["id"]), reverse=query.get("order", "desc") == "desc")
        total = len(rows) if total is None else total
        pages = max(1, -(-total // per_page))
        if page > pages:
            return _error(
                "rest_post_invalid_page_number", "El número de página es mayor que el de páginas.", 400
            )
        chunk = rows[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if page < pages:
            headers["Link"] = f'<{COLLECTION_PATH}?page={page + 1}&per_page={per_page}>; rel="next"'
        return 200, [self.site.render("collection", item) for item in chunk], headers
