"""``field__any=values``: ``IN`` for any number of values as one array parameter on PostgreSQL.

``field__in`` writes one placeholder per value: a statement hundreds of placeholders long, which the
driver parses anew on every call and PostgreSQL plans anew. ``= ANY(%s)`` keeps the statement short
and the same whatever the batch size. Elsewhere it is ``IN``.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, Field
from django.db.models.lookups import In


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def as_postgresql(self, compiler, connection):
        values = [value for value in dict.fromkeys(self.rhs) if value is not None]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        params = [field.get_db_prep_value(value, connection, prepared=True) for value in values]
        cast = "::text[]" if isinstance(field, CharField) else ""
        return f"{lhs} = ANY(%s{cast})", [*lhs_params, list(params)]
