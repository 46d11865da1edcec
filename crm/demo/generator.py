"""Deterministic generator of realistic Argentine B2B leads with the event history the service layer writes.

``LeadGenerator(seed, now, ...).lead(index)`` always gives the same lead for the same seed, ``now`` and
index, so demo seeding can add only the missing leads and the bench loader can produce a million rows
without holding them in memory. The output is plain data (keys, usernames, datetimes); callers turn it
into model instances or COPY rows.
"""

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

FIRST_NAMES = (
    "Juan", "María", "Carlos", "Ana", "Jorge", "Laura", "Luis", "Silvina", "Martín", "Gabriela",
    "Diego", "Claudia", "Pablo", "Mariana", "Sergio", "Lucía", "Fernando", "Valeria", "Alejandro",
    "Florencia", "Gustavo", "Carolina", "Ricardo", "Natalia", "Hernán", "Romina", "Raúl", "Verónica",
    "Leandro", "Paula", "Matías", "Soledad", "Facundo", "Agustina", "Nicolás", "Camila", "Sebastián",
    "Julieta", "Maximiliano", "Andrea", "Federico", "Micaela", "Ezequiel", "Noelia", "Gonzalo",
    "Daniela", "Rodrigo", "Vanesa", "Cristian", "Lorena", "Emiliano", "Belén", "Marcelo", "Cecilia",
    "Ignacio", "Rocío", "Walter", "Graciela", "Horacio", "Mirta", "Osvaldo", "Susana", "Néstor", "Inés",
)  # fmt: skip
LAST_NAMES = (
    "González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez", "García",
    "Sánchez", "Romero", "Sosa", "Álvarez", "Torres", "Ruiz", "Ramírez", "Flores", "Acosta", "Benítez",
    "Medina", "Suárez", "Herrera", "Aguirre", "Pereyra", "Gutiérrez", "Giménez", "Molina", "Silva",
    "Castro", "Rojas", "Ortiz", "Núñez", "Luna", "Juárez", "Cabrera", "Ríos", "Ferreyra", "Godoy",
    "Morales", "Domínguez", "Moreno", "Peralta", "Vega", "Carrizo", "Quiroga", "Castillo", "Ledesma",
    "Muñoz", "Ojeda", "Ponce", "Vera", "Vázquez", "Villalba", "Cardozo", "Navarro", "Ramos", "Arias",
    "Coronel", "Córdoba", "Figueroa", "Correa", "Cáceres", "Vargas", "Maldonado", "Mansilla", "Farías",
    "Rivero", "Paz", "Miranda", "Roldán", "Méndez", "Lucero", "Cruz", "Hernández", "Agüero", "Páez",
    "Bustos", "Blanco", "Escobar", "Ibáñez", "Zalazar", "Bianchi", "Rossi", "Ferrari", "Romano",
)  # fmt: skip
COMPANY_WORDS = (
    "del Sur", "Pampa", "Andina", "Litoral", "Patagonia", "Central", "del Plata", "Norte Grande",
    "Cuyo", "Mediterránea", "Austral", "Federal", "La Serenísima", "El Ceibo", "Los Álamos",
    "San Martín", "Belgrano", "Río Paraná", "Tres Arroyos", "La Esperanza", "El Progreso", "Horizonte",
)  # fmt: skip
COMPANY_SECTORS = (
    "Alimentos", "Agroindustrias", "Distribuidora", "Metalúrgica", "Plásticos", "Textil", "Química",
    "Laboratorios", "Bebidas", "Frigorífico", "Autopartes", "Papelera", "Maderera", "Cerámicas",
    "Electrodomésticos", "Farmacéutica", "Vinos", "Lácteos", "Importadora", "Exportadora",
    "Transportes", "Construcciones", "Insumos Médicos", "Repuestos", "Envases", "Cosméticos",
)  # fmt: skip
COMPANY_FORMS = ("SA", "S.A.", "SRL", "S.R.L.", "SAS", "SAIC", "SACIF")
COOPERATIVE_KINDS = (
    "Agrícola Ganadera", "de Trabajo", "Tambera", "Vitivinícola", "Frutihortícola", "Yerbatera",
    "Agropecuaria", "de Provisión",
)  # fmt: skip
PERSONAL_DOMAINS = (
    ("gmail.com", 60), ("hotmail.com", 18), ("yahoo.com.ar", 7), ("outlook.com", 6),
    ("live.com.ar", 3), ("fibertel.com.ar", 3), ("arnet.com.ar", 2), ("speedy.com.ar", 1),
)  # fmt: skip
BAD_EMAILS = ("x@gmail", "@@", "juan@hotmail.con", "sin email", "-", "N/A", "asdf", "nombre@gmail .com")
# [landline formats, mobile formats]: how people write an Argentine number (area code without the 0).
PHONE_FORMATS = (
    ("(0{area}) {head}-{tail}", "(0{area}) {head}-{tail}", "{area} {head} {tail}", "+54 {area} {head}-{tail}", "0{area}-{number}"),
    ("+54 9 {area} {head}-{tail}", "0{area} 15-{head}-{tail}", "(0{area}) 15 {head}-{tail}", "+549{area}{number}", "54 9 {area} {head} {tail}"),
)  # fmt: skip
BAD_PHONES = ("123", "no tengo", "1,5E+10", "-", "N/A", "0000", "asdf")

# (city, province, area code, subscriber digits, weight)
LOCATIONS = (
    ("CABA", "Ciudad Autónoma de Buenos Aires", "11", 8, 22),
    ("La Matanza", "Buenos Aires", "11", 8, 5),
    ("Pilar", "Buenos Aires", "230", 7, 4),
    ("Tigre", "Buenos Aires", "11", 8, 3),
    ("Quilmes", "Buenos Aires", "11", 8, 3),
    ("Avellaneda", "Buenos Aires", "11", 8, 3),
    ("La Plata", "Buenos Aires", "221", 7, 4),
    ("Mar del Plata", "Buenos Aires", "223", 7, 3),
    ("Bahía Blanca", "Buenos Aires", "291", 7, 2),
    ("Campana", "Buenos Aires", "3489", 6, 1),
    ("Córdoba", "Córdoba", "351", 7, 7),
    ("Río Cuarto", "Córdoba", "358", 7, 2),
    ("Villa María", "Córdoba", "353", 7, 1),
    ("Rosario", "Santa Fe", "341", 7, 6),
    ("Santa Fe", "Santa Fe", "342", 7, 2),
    ("Rafaela", "Santa Fe", "3492", 6, 1),
    ("Mendoza", "Mendoza", "261", 7, 4),
    ("San Rafael", "Mendoza", "260", 7, 1),
    ("San Miguel de Tucumán", "Tucumán", "381", 7, 3),
    ("Salta", "Salta", "387", 7, 2),
    ("San Salvador de Jujuy", "Jujuy", "388", 7, 1),
    ("Neuquén", "Neuquén", "299", 7, 2),
    ("Viedma", "Río Negro", "2920", 6, 1),
    ("Bariloche", "Río Negro", "294", 7, 1),
    ("Comodoro Rivadavia", "Chubut", "297", 7, 1),
    ("Río Gallegos", "Santa Cruz", "2966", 6, 1),
    ("Ushuaia", "Tierra del Fuego", "2901", 6, 1),
    ("San Juan", "San Juan", "264", 7, 1),
    ("San Luis", "San Luis", "266", 7, 1),
    ("Santa Rosa", "La Pampa", "2954", 6, 1),
    ("Paraná", "Entre Ríos", "343", 7, 2),
    ("Concordia", "Entre Ríos", "345", 7, 1),
    ("Corrientes", "Corrientes", "379", 7, 1),
    ("Posadas", "Misiones", "376", 7, 1),
    ("Resistencia", "Chaco", "362", 7, 1),
    ("Formosa", "Formosa", "370", 7, 1),
    ("Santiago del Estero", "Santiago del Estero", "385", 7, 1),
    ("San Fernando del Valle de Catamarca", "Catamarca", "383", 7, 1),
    ("La Rioja", "La Rioja", "380", 7, 1),
)

JOB_SEEKER_SERVICE = "Busco trabajo/ Ofrezco productos o servicios"
# brand code -> [(service name, weight)]; the names are also the WordPress option texts.
BRAND_SERVICES = {
    "intralog": [("Almacenamiento y depósito", 45), ("Transporte", 35), ("Comercio exterior", 20)],
    "intrapal": [("Compra de pallets", 50), ("Alquiler de pallets", 30), ("Pallets a medida", 20)],
}
BRAND_FORMS = {"intralog": ("3", "4", "5"), "intrapal": ("7",)}
BRAND_WEIGHTS = (("intralog", 60), ("intrapal", 40))

MESSAGES = {
    "Almacenamiento y depósito": (
        "Necesitamos almacenar {n} posiciones de pallet en {city}, ¿tienen disponibilidad y tarifas?",
        "Buenas tardes, buscamos depósito con picking y preparación de pedidos para unas {n} órdenes diarias.",
        "Quisiera cotizar almacenamiento de mercadería seca, aprox. {n} m2, con seguro incluido.",
        "Somos {company} y buscamos un operador logístico para tercerizar el depósito.",
        "Hola, ¿trabajan con mercadería refrigerada? Serían {n} pallets por mes.",
    ),
    "Transporte": (
        "Necesito cotizar un flete de {city} a CABA, {n} pallets, carga seca.",
        "Buscamos transporte semanal de {n} toneladas desde {city} al puerto de Buenos Aires.",
        "¿Hacen distribución de última milla en AMBA? Unas {n} entregas por día.",
        "Hola, necesitamos un camión con hidrogrúa para el {day} de este mes.",
        "Consulta por transporte de contenedores desde el puerto a nuestra planta en {city}.",
    ),
    "Comercio exterior": (
        "Necesitamos asesoramiento para importar {n} contenedores desde China.",
        "Quisiéramos cotizar despacho de aduana y almacenamiento fiscal para una importación.",
        "Exportamos a Chile y Brasil, buscamos un operador que se ocupe del trámite y el flete.",
        "Hola, ¿gestionan certificados de origen y SIMI? Somos {company}.",
    ),
    "Compra de pallets": (
        "Necesito {n} pallets de madera 1,20 x 1,00 usados en buen estado, entrega en {city}.",
        "Cotización por {n} pallets nuevos tipo Arlog con tratamiento fitosanitario (NIMF 15).",
        "Hola, ¿cuál es el precio por pallet comprando {n} unidades? Retiramos nosotros.",
        "Buscamos proveedor mensual de pallets para exportación.",
    ),
    "Alquiler de pallets": (
        "Quisiera alquilar {n} pallets por tres meses para la temporada de cosecha.",
        "¿Tienen alquiler de pallets con retiro y entrega en {city}?",
        "Necesitamos pallets en alquiler para un evento, unos {n}.",
    ),
    "Pallets a medida": (
        "Necesitamos pallets a medida de 1,10 x 1,10 para bobinas, cantidad {n}.",
        "¿Fabrican pallets reforzados a medida? Carga de {n} kg por pallet.",
        "Necesitamos pallets a medida...",
    ),
    JOB_SEEKER_SERVICE: (
        "Hola, quisiera dejar mi CV para trabajar como chofer o en depósito.",
        "Busco trabajo de operario de autoelevador, tengo experiencia y carnet habilitante.",
        "Somos proveedores de film stretch y esquineros, ¿con quién puedo hablar para ofrecer?",
        "Ofrecemos servicio de seguridad y vigilancia para depósitos, ¿a quién le envío la propuesta?",
        "Me postulo para administrativo, adjunto CV. Gracias.",
    ),
}
ODD_MESSAGES = (
    "Consulta urgente!!! 📦🚚 llamen por favor",
    '=HYPERLINK("http://example.com","click")',
    "<script>alert(1)</script> consulta",
    "Hola\tnecesito\tcotización\npara el lunes\n\ngracias",
    "Mire nuestra web http://spam.example http://spam.example/2 http://spam.example/3",
    "N/A",
    "asdf",
)

# (name, brand, channel, utm_source, utm_medium, utm_campaign, months ago it started, months running, budget)
CAMPAIGNS = (
    ("Google Ads – Depósito AMBA", "intralog", "search", "google", "cpc", "intralog-deposito-amba", 17, 18, 2_400_000),
    ("LinkedIn – Comercio exterior", "intralog", "social", "linkedin", "social", "intralog-comex", 12, 6, 900_000),
    ("Newsletter clientes INTRALOG", "intralog", "email", "newsletter", "email", "intralog-novedades", 9, 9, 150_000),
    ("Meta Ads – Transporte interior", "intralog", "social", "facebook", "paid-social", "intralog-transporte", 6, 6, 1_100_000),
    ("Instagram – Alquiler verano", "intrapal", "social", "ig", "social", "intrapal-alquiler-verano", 11, 3, 600_000),
    ("Google Ads – Pallets", "intrapal", "search", "google", "cpc", "intrapal-pallets", 15, 16, 1_800_000),
    ("Expo Logisti-k 2026", "intrapal", "offline", "expo", "offline", "expologistik-2026", 5, 1, 1_500_000),
    ("Display – Pallets a medida", "intrapal", "display", "gdn", "display", "intrapal-medida", 4, 4, 400_000),
)  # fmt: skip
ODD_UTMS = (
    ("Google", "CPC ", "{campaignname}"),
    ("facebook.com", "referral", ""),
    ("IG", "Social", "intrapal alquiler verano"),
    ("google", "organic", ""),
    ("chatgpt.com", "", ""),
)

# source key -> weight; the WordPress forms bring most leads.
SOURCE_WEIGHTS = (
    ("wordpress", 62), ("whatsapp", 11), ("phone", 8), ("email", 7), ("web_form", 5),
    ("referral", 4), ("walk_in", 1), ("other", 2),
)  # fmt: skip
CHANNEL_FOR_SOURCE = {"whatsapp": "whatsapp", "email": "email", "walk_in": "meeting"}

FINAL_STATUS_WEIGHTS = (
    ("pending", 5), ("assigned", 7), ("contacted", 11), ("to_quote", 7), ("quoted", 10),
    ("interested", 6), ("won", 7), ("postponed", 6), ("not_advanced", 15), ("not_viable", 6),
    ("new_client", 5),
)  # fmt: skip
# The status path a lead walks (after "assigned") to reach its final status.
PIPELINE_PATHS = {
    "pending": ((),),
    "assigned": ((),),
    "contacted": (("contacted",),),
    "to_quote": (("contacted", "to_quote"),),
    "quoted": (("contacted", "quoted"), ("contacted", "to_quote", "quoted")),
    "interested": (("contacted", "quoted", "interested"), ("contacted", "interested")),
    "won": (("contacted", "quoted", "won"), ("contacted", "quoted", "interested", "won")),
    "new_client": (("contacted", "quoted", "won", "new_client"), ("contacted", "new_client")),
    "postponed": (("contacted", "postponed"), ("contacted", "quoted", "postponed")),
    "not_advanced": (("contacted", "not_advanced"), ("contacted", "quoted", "not_advanced")),
    "not_viable": (("contacted", "not_viable"), ("not_viable",)),
}
CLOSING_REASONS = {
    "not_advanced": (
        "No respondió más después de enviar la cotización.",
        "Eligió otro proveedor por precio.",
        "El cliente suspendió el proyecto.",
        "Presupuesto fuera de su alcance.",
    ),
    "not_viable": (
        "Zona sin cobertura.",
        "Volumen demasiado chico para nuestra operación.",
        "Requiere mercadería peligrosa, no habilitados.",
        "Pide plazos imposibles de cumplir.",
    ),
}
NOTES = (
    "Pidió que lo llamen después de las 15 h.",
    "Envié presentación comercial por mail.",
    "Cliente con potencial, seguir de cerca.",
    "Coordinar visita al depósito.",
    "Espera aprobación de su gerencia.",
    "Consultar stock antes de confirmar.",
    "Tiene otra cotización, ajustar precio.",
    "Prefiere contacto por WhatsApp.",
)
CONTACT_NOTES = {
    "reached": ("Hablamos, le interesa.", "Conversación breve, pidió detalle por mail.", ""),
    "no_answer": ("No atiende.", ""),
    "left_message": ("Dejé mensaje de voz.", "Le escribí por WhatsApp.", ""),
    "wrong_number": ("El número no corresponde.", ""),
}
# The seeded classification rules a generated lead matches (by key) and the tags they add.
CLASSIFICATION_TAGS = {"job_seeker": ("job_seeker_or_vendor",), "spam": ("spam",)}
DUPLICATE_TAG = "duplicate"

HOUR = 3600.0
DAY = 86400.0


def _cumulative(weighted):
    items, weights = zip(*weighted, strict=True)
    total, cumulative = 0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return items, cumulative


def _ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


_ASCII_FIRST = {name: _ascii(name) for name in FIRST_NAMES}
_ASCII_LAST = {name: _ascii(name) for name in LAST_NAMES}


@dataclass(slots=True)
class GeneratedEvent:
    """One ``LeadEvent`` as the service layer would have written it. ``actor`` is a username or None."""

    kind: str
    created_at: datetime
    actor: str | None = None
    from_value: str = ""
    to_value: str = ""
    channel: str = ""
    outcome: str = ""
    note: str = ""
    data: dict = field(default_factory=dict)


@dataclass(slots=True)
class GeneratedLead:
    """A lead's fields as plain values (brand/service/source/status/campaign by key or name, people by username)."""

    index: int
    brand: str
    contact_name: str
    company: str
    email: str
    phone: str
    phone_e164: str
    location: str
    service: str | None
    service_text: str
    message: str
    source: str
    campaign: str | None
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    external_source: str
    external_form: str
    external_id: str
    raw_payload: dict
    status: str
    assignee: str | None
    priority: int
    classification_reason: str
    skip_alerts: bool
    duplicate_of: int | None
    created_by: str | None
    management_note: str
    tags: tuple
    submitted_at: datetime
    received_at: datetime
    first_contacted_at: datetime | None
    assigned_at: datetime | None
    status_changed_at: datetime
    last_activity_at: datetime
    events: list


class LeadGenerator:
    """Realistic leads by index: same seed + ``now`` + index → same lead.

    ``employees`` and ``managers`` map a brand code to the usernames that work it; the generator
    assigns leads and attributes actions to them. ``external_source`` marks generated leads
    ("demo", "bench") and makes their external references unique.
    """

    def __init__(  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
        self,
        *,
        employees,
        managers,
        seed=2026,
        now=None,
        months=18,
        external_source="demo",
        duplicate_share=0.03,
        negative_share=0.09,
        phone_normaliser=None,
    ):
        self.seed = seed
        self.now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self.span = months * 30.4 * DAY
        self.start = self.now - timedelta(seconds=self.span)
        self.employees = {brand: tuple(names) for brand, names in employees.items()}
        self.managers = {brand: tuple(names) for brand, names in managers.items()}
        self.external_source = external_source
        self.duplicate_share = duplicate_share
        self.negative_share = negative_share
        self.phone_normaliser = phone_normaliser
        self._phone_checks = {}
        self._brands = _cumulative(BRAND_WEIGHTS)
        self._services = {brand: _cumulative(items) for brand, items in BRAND_SERVICES.items()}
        self._sources = _cumulative(SOURCE_WEIGHTS)
        self._statuses = _cumulative(FINAL_STATUS_WEIGHTS)
        self._locations = _cumulative([(location, location[4]) for location in LOCATIONS])
        self._domains = _cumulative(PERSONAL_DOMAINS)
        self._campaigns = {
            brand: [campaign for campaign in CAMPAIGNS if campaign[1] == brand] for brand in BRAND_SERVICES
        }

    # -- campaigns ---------------------------------------------------------------------------

    def campaign_window(self, campaign):
        """(start, end) datetimes of a CAMPAIGNS row relative to ``now``."""
        start = self.now - timedelta(days=campaign[6] * 30.4)
        end = min(self.now, start + timedelta(days=campaign[7] * 30.4))
        return start, end

    def campaigns(self):
        """The demo campaigns as dicts ready for ``Campaign(**...)`` (brand by code), with their spend so far."""
        rows = []
        for campaign in CAMPAIGNS:
            name, brand, channel, source, medium, utm_campaign, _ago, months, budget = campaign
            start, end = self.campaign_window(campaign)
            elapsed = (end - start).total_seconds() / (months * 30.4 * DAY)
            rows.append(
                {
                    "name": name,
                    "brand": brand,
                    "channel": channel,
                    "utm_source": source,
                    "utm_medium": medium,
                    "utm_campaign": utm_campaign,
                    "starts_on": start.date(),
                    "ends_on": (start + timedelta(days=months * 30.4)).date(),
                    "budget": budget,
                    "spend": round(budget * min(1.0, elapsed) * 0.92, 2),
                    "is_active": end >= self.now,
                }
            )
        return rows

    # -- one lead ------------------------------------------------------------------------------

    def rng(self, index):
        return random.Random(self.seed * 2_000_003 + index)

    def head(self, index):
        """(the lead's random generator, its contact, its received time): what a repeat must reproduce."""
        rng = self.rng(index)
        contact = self._contact(rng, index)
        return rng, contact, self.received_at(rng)

    def contact(self, index):
        """The person behind lead ``index``: (brand, name, company, email, phone, e164, location tuple)."""
        return self.head(index)[1]

    def _contact(self, rng, index):
        brand = rng.choices(self._brands[0], cum_weights=self._brands[1])[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if rng.random() < 0.25:
            last = f"{last} {rng.choice(LAST_NAMES)}"
        location = rng.choices(self._locations[0], cum_weights=self._locations[1])[0]
        company = self._company(rng, last) if brand == "intralog" or rng.random() < 0.15 else ""
        email = self._email(rng, index, first, last, company)
        phone, e164 = self._phone(rng, location)
        return brand, f"{first} {last}", company, email, phone, e164, location

    def _company(self, rng, last):
        roll = rng.random()
        surname = last.split(" ")[0]
        if roll < 0.18:
            return f"{surname} Hnos."
        if roll < 0.28:
            return f"{surname} e Hijos {rng.choice(COMPANY_FORMS)}"
        if roll < 0.36:
            return f"Cooperativa {rng.choice(COOPERATIVE_KINDS)} {rng.choice(COMPANY_WORDS)} Ltda."
        if roll < 0.46:
            return f"{surname} y {rng.choice(LAST_NAMES)} {rng.choice(COMPANY_FORMS)}"
        if roll < 0.52:
            return f"{rng.choice(COMPANY_SECTORS).upper()} {rng.choice(COMPANY_WORDS).upper()} SRL"
        return f"{rng.choice(COMPANY_SECTORS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_FORMS)}"

    def _email(self, rng, index, first, last, company):
        roll = rng.random()
        if roll < 0.02:
            return ""
        if roll < 0.04:
            return rng.choice(BAD_EMAILS)
        f, lastname = _ASCII_FIRST[first], _ASCII_LAST[last.split(" ")[0]]
        if company and roll < 0.45:
            domain = "".join(
                ch for ch in _ascii(company.split(" ")[0] + company.split(" ")[1]) if ch.isalnum()
            )
            local = rng.choice((f"{f}.{lastname}", f"{f[0]}{lastname}", "ventas", "compras", "logistica"))
            return f"{local}{index}@{domain}.com.ar"
        domain = rng.choices(self._domains[0], cum_weights=self._domains[1])[0]
        pattern = rng.randrange(5)
        if pattern == 0:
            local = f"{f}.{lastname}{index}"
        elif pattern == 1:
            local = f"{f[0]}{lastname}{index}"
        elif pattern == 2:
            local = f"{f}_{index}"
        elif pattern == 3:
            local = f"{lastname}.{f}{index}"
        else:
            local = f"{f}{lastname}_{index}"
        return f"{local}@{domain}"

    def _phone(self, rng, location):
        """A phone written one of the ways Argentines write it, and its E.164 form.

        With a ``phone_normaliser`` the E.164 form is the normaliser's answer: each (area, kind, format)
        is checked once against it, and the few combinations it reads otherwise are asked every time.
        """
        roll = rng.random()
        if roll < 0.03:
            return "", ""
        if roll < 0.05:
            text = rng.choice(BAD_PHONES)
            return text, self.phone_normaliser(text) if self.phone_normaliser else ""
        area, digits = location[2], location[3]
        number = f"4{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"
        mobile = rng.random() < 0.75
        fmt = rng.randrange(5)
        text = PHONE_FORMATS[mobile][fmt].format(area=area, number=number, head=number[: digits - 4], tail=number[digits - 4 :])  # fmt: skip
        e164 = f"+549{area}{number}" if mobile else f"+54{area}{number}"
        if self.phone_normaliser is None:
            return text, e164
        key = (area, mobile, fmt)
        agrees = self._phone_checks.get(key)
        if agrees is None:
            agrees = self._phone_checks[key] = self.phone_normaliser(text) == e164
        return text, e164 if agrees else self.phone_normaliser(text)

    def received_at(self, rng):
        """Lead arrivals grow over the months and follow Argentine office hours (UTC-3)."""
        position = rng.random() ** 0.8
        moment = self.start + timedelta(seconds=position * self.span)
        day = moment.replace(hour=0, minute=0, second=0)
        if day.weekday() >= 5 and rng.random() < 0.7:
            day -= timedelta(days=day.weekday() - 4)
        hour = rng.choices((9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 23), cum_weights=(8, 20, 32, 42, 50, 60, 70, 80, 88, 94, 98, 100))[0]  # fmt: skip
        moment = day + timedelta(hours=hour + 3, minutes=rng.randrange(60), seconds=rng.randrange(60))
        return min(moment, self.now - timedelta(seconds=rng.randrange(60, 3600)))

    def _mix(self, index):
        """A cheap deterministic 64-bit hash of the index (splitmix64), so most leads need no extra generator."""
        value = (index * 0x9E3779B97F4A7C15 + self.seed) & 0xFFFFFFFFFFFFFFFF
        value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return value ^ (value >> 31)

    def original_of(self, index, brand=None):
        """The index of the earlier lead that lead ``index`` repeats (the root of its group), or None."""
        mixed = self._mix(index)
        if index < 10 or (mixed & 0xFFFFFF) >= self.duplicate_share * 0x1000000:
            return None
        brand = brand or self.contact(index)[0]
        candidate = max(0, index - 1 - (mixed >> 24) % 400)
        while candidate >= 0 and self.contact(candidate)[0] != brand:
            candidate -= 1
        if candidate < 0:
            return None
        root = self.original_of(candidate, brand)
        return candidate if root is None else root

    def lead(self, index):
        rng, contact, received = self.head(index)
        duplicate_of = self.original_of(index, contact[0])
        if duplicate_of is None:
            brand, name, company, email, phone, e164, location = contact
            given_email = email
        else:
            _rng, contact, first_received = self.head(duplicate_of)
            brand, name, company, email, phone, e164, location = contact
            received = first_received + timedelta(seconds=rng.choice((20, 3600, 3 * DAY, 40 * DAY)))
            if received >= self.now:
                received = first_received + (self.now - first_received) / 2
            given_email = (
                email.upper() if rng.random() < 0.2 else (f" {email} " if rng.random() < 0.2 else email)
            )
        service_names, service_weights = self._services[brand]
        negative = rng.random() < self.negative_share
        service = (
            JOB_SEEKER_SERVICE if negative else rng.choices(service_names, cum_weights=service_weights)[0]
        )
        source = rng.choices(self._sources[0], cum_weights=self._sources[1])[0]
        form = rng.choice(BRAND_FORMS[brand]) if source == "wordpress" else ""
        city, province = location[0], location[1]
        location_text = rng.choice(
            (city, f"{city}, {province}", province, city.upper(), f"{city} ({province})")
        )
        message = self._message(rng, service, city, company)
        if not negative and rng.random() < 0.03:
            message = rng.choice(ODD_MESSAGES)
        spam = not negative and message.count("http") >= 3
        submitted = received - timedelta(seconds=rng.randrange(5, 900) if source == "wordpress" else 0)
        campaign, utm = self._utm(rng, brand, source, received)

        raw = {}
        if source in ("wordpress", "web_form"):
            raw = {
                "id": index + 1,
                "created_at": (submitted - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
            }
            raw["Nombre y apellido"] = name
            if company and brand == "intralog":
                raw["Razón social"] = company
            if given_email:
                raw["Email"] = given_email
            if phone:
                raw["Teléfono"] = phone
            raw["Ubicación"] = location_text
            raw["Me interesa el servicio"] = service
            raw["Mensaje"] = message
            for key, value in zip(
                ("utm_source", "utm_medium", "utm_campaign", "utm_content"), utm, strict=True
            ):
                if value:
                    raw[key] = value

        creator = None
        if source in ("phone", "walk_in", "referral", "email", "whatsapp") and rng.random() < 0.7:
            creator = rng.choice(self.employees[brand] + self.managers[brand])

        lead = GeneratedLead(
            index=index,
            brand=brand,
            contact_name=name,
            company=company,
            email=email,
            phone=phone,
            phone_e164=e164,
            location=location_text,
            service=service if service != JOB_SEEKER_SERVICE else None,
            service_text=service,
            message=message,
            source=source,
            campaign=campaign,
            utm_source=utm[0],
            utm_medium=utm[1],
            utm_campaign=utm[2],
            utm_content=utm[3],
            external_source=self.external_source,
            external_form=form,
            external_id=str(index),
            raw_payload=raw,
            status="pending",
            assignee=None,
            priority=2,
            classification_reason="",
            skip_alerts=False,
            duplicate_of=duplicate_of,
            created_by=creator,
            management_note="",
            tags=(),
            submitted_at=submitted,
            received_at=received,
            first_contacted_at=None,
            assigned_at=None,
            status_changed_at=received,
            last_activity_at=received,
            events=[],
        )
        self._history(rng, lead, negative=negative, spam=spam)
        return lead

    def _message(self, rng, service, city, company):
        template = rng.choice(MESSAGES[service])
        return template.format(n=rng.choice((5, 10, 20, 40, 60, 100, 250, 500, 1200)), city=city, company=company or "una pyme", day=rng.randrange(1, 29))  # fmt: skip

    def _utm(self, rng, brand, source, received):
        """(campaign name or None, (utm_source, medium, campaign, content))."""
        if source not in ("wordpress", "web_form") or rng.random() < 0.45:
            return None, ("", "", "", "")
        if rng.random() < 0.12:
            odd = rng.choice(ODD_UTMS)
            return None, (*odd, "")
        running = [
            c
            for c in self._campaigns[brand]
            if self.campaign_window(c)[0] <= received <= self.campaign_window(c)[1]
        ]
        if not running:
            return None, ("google", "organic", "", "")
        campaign = rng.choice(running)
        content = rng.choice(("", "", "banner-a", "banner-b", "video", "carrusel"))
        return campaign[0], (campaign[3], campaign[4], campaign[5], content)

    # -- history -------------------------------------------------------------------------------

    def _history(self, rng, lead, *, negative, spam):  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
        """Fill the events and the timing fields so they agree with each other and the final status."""
        events = lead.events
        t = lead.received_at
        rule = "job_seeker" if negative else ("spam" if spam else None)
        if rule:
            lead.status, lead.skip_alerts, lead.tags = "negative", True, CLASSIFICATION_TAGS[rule]
        events.append(GeneratedEvent("created", t, lead.created_by, to_value=lead.status, data={"source": lead.source}))  # fmt: skip
        events.append(GeneratedEvent("classified", t, None, from_value="pending", to_value=lead.status, data={"rule": rule}))  # fmt: skip
        if lead.duplicate_of is not None:
            lead.tags = (*lead.tags, DUPLICATE_TAG)
            events.append(GeneratedEvent("classified", t, None, to_value=DUPLICATE_TAG, data={"duplicate_of_index": lead.duplicate_of}))  # fmt: skip
        if lead.status == "negative":
            self._finish(lead)
            return

        age_days = (self.now - t).total_seconds() / DAY
        final = rng.choices(self._statuses[0], cum_weights=self._statuses[1])[0]
        if age_days < 2:
            final = rng.choice(("pending", "pending", "assigned", "assigned", "contacted"))
        elif age_days < 14 and final in ("won", "new_client", "not_advanced"):
            final = "quoted"
        if final == "pending":
            if rng.random() < 0.3:
                note_time = t + min(timedelta(hours=rng.uniform(0.2, 20)), (self.now - t) / 2)
                manager = rng.choice(self.managers[lead.brand])
                lead.management_note = rng.choice(NOTES)
                events.append(GeneratedEvent("edited", note_time, manager, to_value="management_note", data={"changes": {"management_note": {"from": "", "to": lead.management_note}}}))  # fmt: skip
            self._finish(lead)
            return

        assignee = rng.choice(self.employees[lead.brand])
        manager = rng.choice(self.managers[lead.brand])
        t += min(timedelta(hours=rng.uniform(0.05, 30)), (self.now - t) / 3)
        schedule = [t]
        path = rng.choice(PIPELINE_PATHS[final])
        contact_attempts = rng.choice((1, 1, 1, 1, 1, 2, 3)) if path else rng.choice((0, 0, 1))
        gaps = [rng.lognormvariate(1.2, 1.1) * HOUR for _ in range(contact_attempts)]
        gaps += [rng.randrange(60, 1800) for _ in path[:1]]
        gaps += [rng.uniform(0.5, 12) * DAY for _ in path[1:]]
        total = sum(gaps)
        room = (self.now - t).total_seconds() * 0.97
        scale = min(1.0, room / total) if total else 1.0
        for gap in gaps:
            schedule.append(schedule[-1] + timedelta(seconds=max(1.0, gap * scale)))

        lead.assignee, lead.assigned_at = assignee, t
        lead.priority = rng.choices((1, 2, 3, 4), cum_weights=(10, 80, 95, 100))[0]
        events.append(GeneratedEvent("assigned", t, manager, to_value=assignee, data={"automatic": False}))  # fmt: skip
        events.append(GeneratedEvent("status_changed", t, manager, from_value="pending", to_value="assigned"))
        lead.status, lead.status_changed_at = "assigned", t
        reassign_by = schedule[1] if len(schedule) > 1 else self.now
        if rng.random() < 0.08 and reassign_by - t > timedelta(minutes=10):
            other = rng.choice(self.employees[lead.brand])
            if other != assignee:
                t = t + (reassign_by - t) * rng.uniform(0.1, 0.9)
                events.append(GeneratedEvent("assigned", t, manager, from_value=assignee, to_value=other, note="Reasignado por carga de trabajo.", data={"automatic": False}))  # fmt: skip
                lead.assignee, lead.assigned_at, assignee = other, t, other

        step = 1
        channel = CHANNEL_FOR_SOURCE.get(lead.source, "phone")
        for attempt in range(contact_attempts):
            when = schedule[step]
            step += 1
            last = attempt == contact_attempts - 1
            outcome = "reached" if (last and path) else rng.choice(("no_answer", "left_message", "no_answer", "wrong_number" if not path else "no_answer"))  # fmt: skip
            attempt_channel = channel if rng.random() < 0.7 else rng.choice(("phone", "whatsapp", "email"))
            events.append(GeneratedEvent("contact_attempt", when, assignee, channel=attempt_channel, outcome=outcome, note=rng.choice(CONTACT_NOTES[outcome])))  # fmt: skip
            if lead.first_contacted_at is None:
                lead.first_contacted_at = when
        previous = "assigned"
        for status in path:
            when = schedule[step]
            step += 1
            closing = status in CLOSING_REASONS
            note = rng.choice(CLOSING_REASONS[status]) if closing else ""
            mover = manager if (status in ("won", "new_client") and rng.random() < 0.4) else assignee
            events.append(
                GeneratedEvent("status_changed", when, mover, from_value=previous, to_value=status, note=note)
            )
            lead.status, lead.status_changed_at, previous = status, when, status
            if rng.random() < 0.12:
                note_time = when + timedelta(minutes=rng.randrange(1, 120))
                if note_time < self.now:
                    events.append(GeneratedEvent("note", note_time, assignee, note=rng.choice(NOTES)))
        if rng.random() < 0.1 and lead.assigned_at:
            lead.management_note = rng.choice(NOTES)
            when = min(
                self.now - timedelta(seconds=10), lead.assigned_at + timedelta(minutes=rng.randrange(2, 600))
            )
            events.append(GeneratedEvent("edited", when, manager, to_value="management_note", data={"changes": {"management_note": {"from": "", "to": lead.management_note}}}))  # fmt: skip
        self._finish(lead)

    @staticmethod
    def _finish(lead):
        lead.events.sort(key=lambda event: event.created_at)
        lead.last_activity_at = lead.events[-1].created_at


def event_data(event, user_ids):
    """(note, data) of ``event`` with people as database ids (``user_ids`` maps usernames to ids)."""
    if event.kind == "assigned":
        return event.note, {
            "from_id": user_ids.get(event.from_value),
            "to_id": user_ids.get(event.to_value),
            "automatic": event.data["automatic"],
        }
    return event.note, event.data
