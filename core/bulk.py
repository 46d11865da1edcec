"""Fast writes of many new rows of one model, knowing nothing of what the rows mean.

``build`` makes unsaved instances the way ``Model.from_db`` does; ``bulk_insert`` saves instances and
``insert_rows`` saves plain rows. On PostgreSQL both write with ``COPY`` (ids taken from the table's
sequence first for ``bulk_insert``); small batches, other databases and field types ``COPY`` is not
taught to write go through ``bulk_create``. No signals are sent and values must be plain (no expressions).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.options import Options
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

COPY_FROM = 10
"""The smallest batch written with ``COPY``: below it ``bulk_create``'s single query is cheaper."""

COPY_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "IntegerField",
        "JSONField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)
"""Internal field types whose Python values ``COPY`` writes as they are (relations are written as ids)."""


class EncodedJSON(dict[str, Any]):
    """A JSON object encoded once, when wrapped (``text``): ``bulk_insert`` writes that text for every
    row holding it, e.g. one payload kept in two tables. Do not change it after wrapping.

    ``text``: the object's JSON text when the caller has it already (any JSON encoding of the same object).
    """

    __slots__ = ("text",)

    def __init__(
        self, value: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), text: str | None = None
    ) -> None:
        super().__init__(value)
        self.text = json.dumps(self) if text is None else text


def build(model: type[M], values: Mapping[str, Any], related: Mapping[str, Any] | None = None) -> M:
    """A new unsaved ``model`` instance from attribute ``values`` and ``related`` objects (see ``ModelBuilder``)."""
    return builder_for(model)(values, related)


def bulk_insert(objs: list[M]) -> list[M]:
    """Insert new instances of one model and set their primary keys, like ``bulk_create``.

    On PostgreSQL the rows go in with ``COPY`` under ids taken from the table's sequence first (or the
    ones ``reserve_ids`` gave every instance), which
    costs a fraction of ``bulk_create``'s per-field preparation and array encoding (two queries instead
    of one, so small batches, other databases and other field types go through ``bulk_create``).
    """
    if not objs:
        return objs
    model = type(objs[0])
    plan = _copies(model, len(objs))
    if plan is None:
        return model._default_manager.bulk_create(objs)
    now = timezone.now()
    names = plan.builder.attnames

    def rows(ids: list[int]) -> Iterator[list[Any]]:
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            for index in plan.stamps:
                setattr(obj, names[index], now)
            loaded = obj.__dict__
            yield [loaded[name] if name in loaded else getattr(obj, name) for name in names]

    reserved = [obj.pk for obj in objs]
    if None in reserved:
        reserved = _reserve_ids(plan.meta, len(objs))
    _copy(plan, rows(reserved))
    alias = connection.alias
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


def reserve_ids(objs: Sequence[models.Model]) -> bool:
    """Give new instances the primary keys ``bulk_insert`` will save them under, before it does, when it
    writes them with ``COPY`` (ascending, from the table's sequence; rows may then refer to each other).

    Returns whether it did; elsewhere the keys come with the insert, and nothing changes here.
    """
    if not objs or _copies(type(objs[0]), len(objs)) is None:
        return False
    for obj, pk in zip(objs, _reserve_ids(objs[0]._meta, len(objs)), strict=True):
        obj.pk = pk
    return True


def _copies(model: type[models.Model], count: int) -> CopyPlan | None:
    """The ``CopyPlan`` ``bulk_insert`` writes ``count`` instances of ``model`` with, or None when it uses
    ``bulk_create``."""
    if count < COPY_FROM or connection.vendor != "postgresql":
        return None
    return copy_plan(model)


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows given as ``{attname: value}`` (the rest take their field defaults); no instances.

    For rows nothing reads back (log entries, link rows): on PostgreSQL they are written by ``COPY``
    straight from the dictionaries, skipping the model instances ``bulk_insert`` needs, and the table
    numbers them; elsewhere they are built and go through ``bulk_create``.
    """
    if not rows:
        return
    plan = copy_plan(model)
    if plan is None or len(rows) < COPY_FROM or connection.vendor != "postgresql":
        model._default_manager.bulk_create([build(model, row) for row in rows])
        return
    now = timezone.now()

    def values() -> Iterator[list[Any]]:
        for row in rows:
            line = plan.builder.values(row)
            for number in plan.stamps:
                line[number] = now
            yield line

    _copy(plan, values(), without_pk=True)


_UNSET: Any = object()


class ModelBuilder:
    """Instances of one model built from values in field order, as ``Model.from_db`` builds them.

    ``Model(**kwargs)`` costs a descriptor call and a default lookup per field. When the model keeps
    Django's ``__init__``, nothing listens to its ``pre_init``/``post_init`` and its fields keep their
    values as plain attributes, the values go straight into the instance's ``__dict__`` (where
    ``Model.__init__`` puts them); otherwise the model is called with them and the signals are sent.
    Relations are given as objects (cached on the instance, as the keyword form does) or as ``<name>_id``.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames: list[str] = [model_field.attname for model_field in fields]
        self.plain_fields = model.__init__ is models.Model.__init__ and all(
            type(getattr(model, attname, None)) in (DeferredAttribute, ForeignKeyDeferredAttribute)
            for attname in self.attnames
        )
        self.index = {model_field.attname: number for number, model_field in enumerate(fields)}
        self.relations: dict[str, tuple[int, str]] = {
            model_field.name: (number, model_field.target_field.attname)  # type: ignore[attr-defined]
            for number, model_field in enumerate(fields)
            if model_field.is_relation
        }
        self.row: list[Any] = []
        self.factories: list[tuple[int, Callable[[], Any]]] = []
        for number, model_field in enumerate(fields):
            if model_field.has_default() and callable(model_field.default):
                self.row.append(_UNSET)
                self.factories.append((number, model_field.default))
            else:
                self.row.append(model_field.get_default())

    def values(self, values: Mapping[str, Any], related: Mapping[str, Any] | None = None) -> list[Any]:
        """The instance's field values in field order: ``values`` and ``related`` over the defaults."""
        row = self.row.copy()
        index = self.index
        for name, value in values.items():
            row[index[name]] = value
        if related:
            for name, obj in related.items():
                number, target = self.relations[name]
                row[number] = None if obj is None else getattr(obj, target)
        for number, factory in self.factories:
            if row[number] is _UNSET:
                row[number] = factory()
        return row

    def __call__(self, values: Mapping[str, Any], related: Mapping[str, Any] | None = None) -> Any:
        model = self.model
        row = self.values(values, related)
        if self.plain_fields and not (pre_init.has_listeners(model) or post_init.has_listeners(model)):
            instance = model.__new__(model)
            instance._state = ModelState()
            instance.__dict__.update(zip(self.attnames, row, strict=True))
        else:
            instance = model(*row)
        if related:
            instance._state.fields_cache.update(related)
        return instance


_builders: dict[type[models.Model], ModelBuilder] = {}


def builder_for(model: type[models.Model]) -> ModelBuilder:
    """The ``ModelBuilder`` of ``model``, made once per process."""
    builder = _builders.get(model)
    if builder is None:
        builder = _builders[model] = ModelBuilder(model)
    return builder


@dataclass
class CopyPlan:
    """How ``COPY`` writes one model's rows: its columns, JSON encoders and ``auto_now`` stamps."""

    meta: Options[Any]
    builder: ModelBuilder
    columns: str
    columns_without_pk: str
    encoders: dict[int, type[json.JSONEncoder] | None]
    stamps: list[int]


_copy_plans: dict[type[models.Model], CopyPlan | None] = {}


def copy_plan(model: type[models.Model]) -> CopyPlan | None:
    """How ``COPY`` writes ``model``'s rows (None when a field type is not one it can write), built once."""
    if model in _copy_plans:
        return _copy_plans[model]
    meta = model._meta
    fields = meta.concrete_fields
    plan = None
    if fields[0] is meta.pk and all(
        field.get_internal_type() in COPY_TYPES or field.is_relation for field in fields
    ):
        columns = [connection.ops.quote_name(str(field.column)) for field in fields]
        plan = CopyPlan(
            meta=meta,
            builder=builder_for(model),
            columns=", ".join(columns),
            columns_without_pk=", ".join(columns[1:]),
            encoders={
                number: field.encoder  # type: ignore[attr-defined]
                for number, field in enumerate(fields)
                if field.get_internal_type() == "JSONField"
            },
            stamps=[
                number
                for number, field in enumerate(fields)
                if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            ],
        )
    _copy_plans[model] = plan
    return plan


def _reserve_ids(meta: Options[Any], count: int) -> list[int]:
    """``count`` new primary keys of ``meta``'s table, ascending, taken from its sequence in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequence(cursor, meta), count]
        )
        return sorted(row[0] for row in cursor.fetchall())


def _copy(plan: CopyPlan, rows: Iterable[list[Any]], without_pk: bool = False) -> None:
    """``COPY`` ``rows`` (lists in field order) into ``plan``'s table.

    ``without_pk``: the primary key (each row's first value) is left out and the table numbers the rows.
    """
    table = connection.ops.quote_name(plan.meta.db_table)
    columns = plan.columns_without_pk if without_pk else plan.columns
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in copy_rows(plan, rows, without_pk):
            copy.write_row(row)


def copy_rows(plan: CopyPlan, rows: Iterable[list[Any]], without_pk: bool = False) -> Iterator[list[Any]]:
    """``rows`` as ``COPY`` writes them: JSON values encoded (an ``EncodedJSON`` as its text), and without
    the primary key when ``without_pk``. The rows are changed in place."""
    encoders = [(number, encoder() if encoder else None) for number, encoder in plan.encoders.items()]
    for row in rows:
        for number, encoder in encoders:
            value = row[number]
            if value is None:
                continue
            if encoder:
                row[number] = encoder.encode(value)
            else:
                row[number] = value.text if type(value) is EncodedJSON else json.dumps(value)
        yield row[1:] if without_pk else row


_sequences: dict[str, str] = {}


def _sequence(cursor: Any, meta: Options[Any]) -> str:
    """The name of the sequence behind ``meta``'s primary key, looked up once per process."""
    name = _sequences.get(meta.db_table)
    if name is None:
        assert meta.pk is not None
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        name = _sequences[meta.db_table] = cursor.fetchone()[0]
    return name
