"""Planner statistics kept up with a form that grows many times over during one sync (PostgreSQL)."""

from typing import ClassVar

from django.db import connection, transaction

from crm.models import Lead

from .models import SourceForm, Submission, WordPressSource


class GrowthStatistics:
    """Re-ANALYZE what a form's sync plans on once the form has doubled since the statistics last saw it.

    A first sync can multiply the tables many times over in one run, and plans made on statistics of
    another scale go wrong:

    - the per-page lookups of submissions by external id read the whole form, with the ids as a filter,
      when the statistics say the form is (nearly) empty: 14 ms a page instead of 0.3 ms at 100,000
      submissions. A form synced after others had filled the table was not in its statistics at all,
      and a later ``--full`` read 12.5 million index entries to re-read 100,000 submissions;
    - PostgreSQL's own foreign-key checks (of each new event, tag, submission and duplicate against its
      lead) are plans it caches per connection. Made while the lead table is empty by its statistics,
      which know nothing of its columns, and its indexes still have their size from before a purge, an
      index probe looks dearer than a scan: they scan the whole table on every check until something
      invalidates them, a quadratic cost that doubled PostgreSQL's time per lead in the benchmark.

    - each page's lookup of the leads that already have its records' external references: unknown to
      the statistics, the source and form look like a few rows, and the lookup reads every lead of the
      form for every page (with the ids as a filter) instead of probing the unique index for each id,
      a cost that grows with the form.

    Autovacuum, when it runs at all, catches up only after its nap, and does not reach a running sync's
    cached plans. So a form's run analyzes once it has stored ``MINIMUM`` rows and as many as the form
    held at the last analysis: a handful of ANALYZE runs however far the form grows, each on the few
    columns these plans read (a whole-table ANALYZE sorts every payload of its sample, and the lead
    table's, with the dashboards' multi-column statistics, costs seconds). Analyzing one column still updates the table's
    size and invalidates the plans cached on it. These plans need the tables' sizes and how distinct the
    columns are, which a sample of ``SAMPLE_TARGET`` × 300 rows gives: at 100,000 leads the full default
    sample (30,000 rows of the wide lead table) took 460-480 ms a run, this one 60-70 ms, and each run holds up the
    sync. Autovacuum analyzes the grown tables with the full sample afterwards. PostgreSQL only; elsewhere
    this does nothing.
    """

    COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        Submission._meta.db_table: ("source_id", "form_id", "external_id"),
        Lead._meta.db_table: ("id", "external_source", "external_form", "external_id"),
    }
    MINIMUM: ClassVar[int] = 1_000
    SAMPLE_TARGET: ClassVar[int] = 20

    def __init__(self, source: WordPressSource, form: SourceForm) -> None:
        self.enabled = connection.vendor == "postgresql"
        self.rows = Submission.objects.filter(source=source, form_id=str(form.form_id))
        self.grown = 0
        self.known: int | None = None

    def note(self, stored: int) -> None:
        """``stored`` more rows were written for the form."""
        if not self.enabled:
            return
        self.grown += stored
        if self.grown < max(self.MINIMUM, self.known or 0):
            return
        rows = self.rows.count()
        if self.known is None:
            self.known = rows - self.grown
            if self.grown < self.known:
                return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL default_statistics_target = {self.SAMPLE_TARGET:d}")
            for table, columns in self.COLUMNS.items():
                cursor.execute(f"ANALYZE {table} ({', '.join(columns)})")  # noqa: S608 - constant names
        self.grown = 0
        self.known = rows
