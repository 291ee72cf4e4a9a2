"""The full-text index behind /search: CJK bigrams and Latin words of each article's normalized title and body.

Why bigrams and not trigrams: most Chinese search terms are two characters (徐工, 光伏, 储能), which a trigram index
cannot look up. Text is cut into runs of letters/digits; a Latin/digit run is one token (lower-cased), a CJK (any
non-ASCII) run gives its overlapping bigrams plus its last character, so a one-character term is a prefix lookup.
A term is looked up as the phrase of its bigrams (SQLite FTS5) or their conjunction (PostgreSQL tsvector + GIN);
either way the index only narrows the candidates and the caller checks each one with the real matcher.

SQLite: an FTS5 table `article_search(tokens)` whose rowid is the article id. PostgreSQL: a table
`article_search(article_id, tokens tsvector)` with a GIN index. Rows are written by a mapper event on Article
insert (same transaction), so every insert path is covered; `rebuild` refills the table (`xznews search rebuild`).

Store may not import ingest, so the text normalizer (ingest.normalize.normalize_text) is handed over with
`use_normalizer`; until it is, NFKC alone is used.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, event, inspect, text

from store.models import Article

log = logging.getLogger(__name__)

TABLE = "article_search"
_RUN = re.compile(r"[a-z0-9]+|[^\W\x00-\x7f_]+")  # an ASCII word, or a run of non-ASCII letters/digits
_normalize: Callable[[str], str] = lambda value: unicodedata.normalize("NFKC", value)  # noqa: E731


def use_normalizer(normalize: Callable[[str], str]) -> None:
    """The normalizer applied to documents and terms alike (ingest.normalize.normalize_text)."""
    global _normalize
    _normalize = normalize


def _runs(value: str) -> list[str]:
    return _RUN.findall(_normalize(value).lower())


def document_tokens(title: str, body: str) -> list[str]:
    """The index tokens of one article, in text order."""
    out: list[str] = []
    for part in (title, body):
        for run in _runs(part):
            if run.isascii():
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
                out.append(run[-1])
    return out


@dataclass(frozen=True)
class Lookup:
    """One term as the index sees it: runs of tokens, each a phrase (or a one-character prefix)."""

    runs: tuple[tuple[str, ...], ...]
    prefix_last: tuple[bool, ...]

    def exact(self, dialect: str) -> bool:
        """Whether "the index finds it" implies "the text has it" (then an exclusion can be applied in SQL).

        True for one run: a Latin word, one CJK character, or a CJK run, which FTS5 finds as a phrase of
        its bigrams (PostgreSQL's tsvector keeps no positions, so there only a two-character run is exact).
        """
        if len(self.runs) != 1:
            return False
        run = self.runs[0]
        return len(run) == 1 or dialect == "sqlite"


def search_lookup(term: str) -> Lookup | None:
    """How to look `term` up; None when it has nothing the index holds (then the index cannot narrow)."""
    runs: list[tuple[str, ...]] = []
    prefix: list[bool] = []
    for run in _runs(term):
        if run.isascii() or len(run) == 1:
            runs.append((run,))
            prefix.append(not run.isascii())
        else:
            runs.append(tuple(run[i : i + 2] for i in range(len(run) - 1)))
            prefix.append(False)
    return Lookup(tuple(runs), tuple(prefix)) if runs else None


# A boolean expression over lookups: ("term", Lookup) | ("and", [...]) | ("or", [...]) | ("not", expr), the last
# only inside "and" and only over exact lookups; None means "anything".
Expr = tuple


def _fts5(expr: Expr) -> str:
    kind, value = expr
    if kind == "term":
        parts = []
        for run, is_prefix in zip(value.runs, value.prefix_last, strict=True):
            parts.append('"' + " ".join(run) + '"' + ("*" if is_prefix else ""))
        return "(" + " AND ".join(parts) + ")"
    if kind == "and":
        keep = [_fts5(e) for e in value if e[0] != "not"]
        drop = [_fts5(e[1]) for e in value if e[0] == "not"]
        return "(" + " AND ".join(keep) + "".join(f" NOT {d}" for d in drop) + ")"
    return "(" + " OR ".join(_fts5(e) for e in value) + ")"


def _tsquery(expr: Expr) -> str:
    kind, value = expr
    if kind == "term":
        # Tokens hold only letters and digits, so quoting them needs no escaping.
        lexemes = [
            f"'{tok}'" + (":*" if is_prefix and i == len(run) - 1 else "")
            for run, is_prefix in zip(value.runs, value.prefix_last, strict=True)
            for i, tok in enumerate(run)
        ]
        return "(" + " & ".join(lexemes) + ")"
    if kind == "not":
        return "!" + _tsquery(value)
    return "(" + (" & " if kind == "and" else " | ").join(_tsquery(e) for e in value) + ")"


def search_ids(conn: Connection, expr: Expr, before: int | None, limit: int) -> list[int]:
    """Ids of candidate articles, newest (highest id) first, below `before`: a keyset page of the index."""
    below = "" if before is None else " AND {col} < :before"
    params: dict[str, object] = {"n": limit, "before": before}
    if conn.dialect.name == "sqlite":
        sql = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH :q{below.format(col='rowid')} ORDER BY rowid DESC LIMIT :n"
        params["q"] = _fts5(expr)
    else:
        sql = (
            f"SELECT article_id FROM {TABLE} WHERE tokens @@ CAST(:q AS tsquery)"
            f"{below.format(col='article_id')} ORDER BY article_id DESC LIMIT :n"
        )
        params["q"] = _tsquery(expr)
    return [int(r[0]) for r in conn.execute(text(sql), params)]


# ------------------------------------------------------------------------------------------- maintenance


def create_table(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(
            text(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(tokens, tokenize='unicode61 remove_diacritics 0')"
            )
        )
        return
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (article_id INTEGER PRIMARY KEY "
            "REFERENCES articles(id) ON DELETE CASCADE, tokens TSVECTOR NOT NULL)"
        )
    )
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_tokens ON {TABLE} USING gin (tokens)"))


def drop_table(conn: Connection) -> None:
    conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))


def index_rows(conn: Connection, rows: Iterable[tuple[int, str, str]]) -> int:
    """Index (id, title, body) rows, replacing what the index held for them; returns how many."""
    batch = [{"id": aid, "tokens": " ".join(document_tokens(title, body))} for aid, title, body in rows]
    if not batch:
        return 0
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"), batch)
        conn.execute(text(f"INSERT INTO {TABLE} (rowid, tokens) VALUES (:id, :tokens)"), batch)
    else:
        conn.execute(
            text(
                f"INSERT INTO {TABLE} (article_id, tokens) "
                "VALUES (:id, array_to_tsvector(string_to_array(:tokens, ' ')))"
                " ON CONFLICT (article_id) DO UPDATE SET tokens = EXCLUDED.tokens"
            ),
            batch,
        )
    return len(batch)


def rebuild_search_index(engine: Engine | Connection, batch: int = 2000) -> int:
    """Empty the index and index every article again; returns the number of articles indexed."""
    if isinstance(engine, Connection):
        return _rebuild(engine, batch)
    with engine.begin() as conn:
        return _rebuild(conn, batch)


def _rebuild(conn: Connection, batch: int) -> int:
    create_table(conn)
    conn.execute(text(f"DELETE FROM {TABLE}"))
    done, last = 0, 0
    while True:
        rows = conn.execute(
            text("SELECT id, title, body FROM articles WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": batch},
        ).all()
        if not rows:
            return done
        done += index_rows(conn, ((r[0], r[1], r[2]) for r in rows))
        last = rows[-1][0]


def indexed_count(conn: Connection) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one())


_HAS_TABLE: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_table(conn: Connection) -> bool:
    """Whether this database has the index yet (one below revision 0005 does not); only "yes" is cached."""
    if not _HAS_TABLE.get(conn.engine) and inspect(conn).has_table(TABLE):
        _HAS_TABLE[conn.engine] = True
    return _HAS_TABLE.get(conn.engine, False)


@event.listens_for(Article, "after_insert")
def _index_new_article(_mapper: object, conn: Connection, article: Article) -> None:
    if article.id is not None and _has_table(conn):
        index_rows(conn, [(article.id, article.title or "", article.body or "")])


@event.listens_for(Article, "after_update")
def _reindex_article(_mapper: object, conn: Connection, article: Article) -> None:
    state = inspect(article)
    if (
        article.id is not None
        and _has_table(conn)
        and (state.attrs.title.history.has_changes() or state.attrs.body.history.has_changes())
    ):
        index_rows(conn, [(article.id, article.title or "", article.body or "")])
