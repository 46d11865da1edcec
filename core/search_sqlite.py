"""The SQLite full-text search backend with every term and phrase quoted as an FTS5 string (see ``core.search``)."""

from typing import Any

from modelsearch.backends.database.sqlite.query import Lexeme, SearchQueryExpression
from modelsearch.backends.database.sqlite.sqlite import (
    SQLiteAutocompleteQueryCompiler,
    SQLiteSearchBackend,
    SQLiteSearchQueryCompiler,
)
from modelsearch.query import Phrase, PlainText


class FTS5String(Lexeme):
    """A term or phrase as an FTS5 string: ``"..."`` with inner double quotes doubled."""

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[str]]:
        return ('"%s"*' if self.prefix else '"%s"'), [self.value.replace('"', '""')]


def _searchable(term: str) -> bool:
    return any(character.isalnum() for character in term)


class QuotedTermsMixin:
    """Mixed into modelsearch's SQLite query compilers (the search and the autocomplete one)."""

    LAST_TERM_IS_PREFIX: bool

    def build_search_query_content(self, query: Any, config: Any = None) -> Any:
        if isinstance(query, PlainText):
            terms = [term for term in query.query_string.split() if _searchable(term)]
            if not query.query_string.split():
                return None
            if not terms:
                return SearchQueryExpression(FTS5String(""), config=config)
            *others, last = terms
            lexemes = FTS5String(last, prefix=self.LAST_TERM_IS_PREFIX)
            for term in others:
                if query.operator.upper() == "AND":
                    lexemes &= FTS5String(term)
                else:
                    lexemes |= FTS5String(term)
            return SearchQueryExpression(lexemes, config=config)
        if isinstance(query, Phrase):
            return SearchQueryExpression(FTS5String(query.query_string), config=config)
        return super().build_search_query_content(query, config=config)  # type: ignore[misc]  # the compiler's


class QuotedSearchQueryCompiler(QuotedTermsMixin, SQLiteSearchQueryCompiler):
    pass


class QuotedAutocompleteQueryCompiler(QuotedTermsMixin, SQLiteAutocompleteQueryCompiler):
    pass


class QuotedSQLiteSearchBackend(SQLiteSearchBackend):
    query_compiler_class = QuotedSearchQueryCompiler
    autocomplete_query_compiler_class = QuotedAutocompleteQueryCompiler
