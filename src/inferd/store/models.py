"""The model repository: models, their builds, definition parts, vocabularies and aliases.

Every write is one transaction, so a crash leaves each row either absent or complete. Callers serialise
writes to one model; this module only guarantees atomicity.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from inferd.store.records import (
    BuildRecord,
    ModelExists,
    ModelRecord,
    PartRecord,
    VocabularyRecord,
    default_build,
)
from inferd.store.tables import builds, definition_parts, model_aliases, models, vocabularies


class ModelStore:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # --- models and builds -------------------------------------------------------------------

    def create_model(self, model_id: str, config: dict[str, Any], now_ms: int) -> None:
        """Insert the model and its build 1 together; raises ModelExists if the id is taken."""
        try:
            with self._engine.begin() as connection:
                connection.execute(sa.insert(models).values(model_id=model_id, create_time_ms=now_ms))
                connection.execute(
                    sa.insert(builds).values(model_id=model_id, build_number=1, config=config, create_time_ms=now_ms)
                )
        except sa.exc.IntegrityError:
            raise ModelExists(model_id) from None

    def get_model(self, model_id: str) -> ModelRecord | None:
        found = self._select_models(models.c.model_id == model_id)
        return found[0] if found else None

    def list_models(self) -> list[ModelRecord]:
        """All models with their builds, sorted by id."""
        return self._select_models(sa.true())

    def delete_model(self, model_id: str) -> bool:
        with self._engine.begin() as connection:
            # SQLite enforces ON DELETE CASCADE only with foreign_keys on; delete children explicitly anyway.
            for table in (definition_parts, vocabularies, builds, model_aliases):
                connection.execute(sa.delete(table).where(table.c.model_id == model_id))
            return connection.execute(sa.delete(models).where(models.c.model_id == model_id)).rowcount > 0

    def create_build(self, model_id: str, config: dict[str, Any], comment: str | None, now_ms: int) -> int | None:
        """Insert the model's next build and return its number; None if no such model.

        Numbers come from the model's counter, never from the builds that remain, so a deleted build's number
        is not given again. Incrementing it takes the model row's lock (a row lock in PostgreSQL, the write lock
        in SQLite) until the commit, so two servers creating builds of one model never get the same number.
        """
        with self._engine.begin() as connection:
            number = connection.scalar(
                sa.update(models).where(models.c.model_id == model_id)
                .values(last_build_number=models.c.last_build_number + 1)
                .returning(models.c.last_build_number)
            )
            if number is None:
                return None
            connection.execute(sa.insert(builds).values(
                model_id=model_id, build_number=number, config=config, create_time_ms=now_ms, comment=comment
            ))
        return int(number)

    def delete_build(self, model_id: str, build_number: int) -> bool:
        """Delete one build with its parts and vocabulary; a default pinned to it is un-pinned."""
        with self._engine.begin() as connection:
            for table in (definition_parts, vocabularies):
                connection.execute(
                    sa.delete(table).where(table.c.model_id == model_id, table.c.build_number == build_number)
                )
            connection.execute(
                sa.update(models)
                .where(models.c.model_id == model_id, models.c.default_build == build_number)
                .values(default_build=None)
            )
            deleted = connection.execute(
                sa.delete(builds).where(builds.c.model_id == model_id, builds.c.build_number == build_number)
            )
            return deleted.rowcount > 0

    def set_default_build(self, model_id: str, build_number: int | None) -> None:
        """Pin the model's default build, or un-pin it (None: the newest ready build)."""
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(models).where(models.c.model_id == model_id).values(default_build=build_number)
            )

    def fail_build(self, model_id: str, build_number: int, reason: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(builds)
                .where(builds.c.model_id == model_id, builds.c.build_number == build_number)
                .values(failure_reason=reason)
            )

    def _select_models(self, where: sa.ColumnElement[bool]) -> list[ModelRecord]:
        part_totals = (
            sa.select(
                definition_parts.c.model_id,
                definition_parts.c.build_number,
                sa.func.count().label("stored_parts"),
                sa.func.sum(definition_parts.c.length).label("stored_bytes"),
            )
            .group_by(definition_parts.c.model_id, definition_parts.c.build_number)
            .subquery()
        )
        query = (
            sa.select(
                models.c.create_time_ms.label("model_create_time_ms"),
                models.c.default_build,
                builds,
                part_totals.c.stored_parts,
                part_totals.c.stored_bytes,
                vocabularies.c.model_id.label("vocabulary_model_id"),
            )
            .select_from(models)
            .join(builds, builds.c.model_id == models.c.model_id)
            .outerjoin(
                part_totals,
                sa.and_(
                    part_totals.c.model_id == builds.c.model_id, part_totals.c.build_number == builds.c.build_number
                ),
            )
            .outerjoin(
                vocabularies,
                sa.and_(
                    vocabularies.c.model_id == builds.c.model_id, vocabularies.c.build_number == builds.c.build_number
                ),
            )
            .where(where)
            .order_by(models.c.model_id, builds.c.build_number.desc())
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
            alias_rows = connection.execute(sa.select(model_aliases).order_by(model_aliases.c.alias)).all()
        aliases: dict[str, list[str]] = {}
        for alias, model_id in alias_rows:
            aliases.setdefault(model_id, []).append(alias)
        found = []
        for model_id, group in itertools.groupby(rows, key=lambda row: row["model_id"]):
            model_rows = list(group)
            model_builds = tuple(_build_of(row) for row in model_rows)
            pinned = model_rows[0]["default_build"]
            found.append(ModelRecord(
                model_id=model_id,
                create_time_ms=model_rows[0]["model_create_time_ms"],
                build=default_build(model_builds, pinned),
                aliases=tuple(aliases.get(model_id, ())),
                builds=model_builds,
                default_build_pinned=pinned,
            ))
        return found

    # --- definition parts ----------------------------------------------------------------------

    def list_parts(self, model_id: str, build_number: int) -> dict[int, PartRecord]:
        query = sa.select(definition_parts.c.part, definition_parts.c.length, definition_parts.c.sha256).where(
            definition_parts.c.model_id == model_id, definition_parts.c.build_number == build_number
        )
        with self._engine.connect() as connection:
            return {row.part: PartRecord(row.part, row.length, row.sha256) for row in connection.execute(query)}

    def iter_part_data(self, model_id: str, build_number: int, parts: list[int]) -> Iterator[tuple[int, bytes]]:
        """Yield parts one at a time, so a large definition never sits whole in memory."""
        for part in parts:
            with self._engine.connect() as connection:
                data = connection.scalar(
                    sa.select(definition_parts.c.data).where(
                        definition_parts.c.model_id == model_id,
                        definition_parts.c.build_number == build_number,
                        definition_parts.c.part == part,
                    )
                )
            if data is None:
                raise LookupError(f"part [{part}] of [{model_id}] build [{build_number}] is missing")
            yield part, bytes(data)

    def add_part(
        self,
        model_id: str,
        build_number: int,
        part: PartRecord,
        data: bytes,
        *,
        total_definition_length: int,
        total_parts: int,
        definition_sha256: str | None,
    ) -> None:
        """Store one part and the build's totals (and its hash when this part completes it) atomically."""
        with self._engine.begin() as connection:
            connection.execute(
                sa.insert(definition_parts).values(
                    model_id=model_id,
                    build_number=build_number,
                    part=part.part,
                    length=part.length,
                    sha256=part.sha256,
                    data=data,
                )
            )
            connection.execute(
                sa.update(builds)
                .where(builds.c.model_id == model_id, builds.c.build_number == build_number)
                .values(
                    total_definition_length=total_definition_length,
                    total_parts=total_parts,
                    definition_sha256=definition_sha256,
                )
            )

    # --- vocabularies --------------------------------------------------------------------------

    def get_vocabulary(self, model_id: str, build_number: int) -> VocabularyRecord | None:
        query = sa.select(vocabularies).where(
            vocabularies.c.model_id == model_id, vocabularies.c.build_number == build_number
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else VocabularyRecord(row["vocabulary"], row["merges"], row["scores"])

    def put_vocabulary(self, model_id: str, build_number: int, vocabulary: VocabularyRecord) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.delete(vocabularies).where(
                    vocabularies.c.model_id == model_id, vocabularies.c.build_number == build_number
                )
            )
            connection.execute(
                sa.insert(vocabularies).values(
                    model_id=model_id,
                    build_number=build_number,
                    vocabulary=vocabulary.vocabulary,
                    merges=vocabulary.merges,
                    scores=vocabulary.scores,
                )
            )

    # --- aliases -------------------------------------------------------------------------------

    def get_alias(self, alias: str) -> str | None:
        with self._engine.connect() as connection:
            return connection.scalar(sa.select(model_aliases.c.model_id).where(model_aliases.c.alias == alias))

    def list_aliases(self) -> dict[str, str]:
        with self._engine.connect() as connection:
            return dict(connection.execute(sa.select(model_aliases.c.alias, model_aliases.c.model_id)).all())

    def set_alias(self, alias: str, model_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(model_aliases).where(model_aliases.c.alias == alias))
            connection.execute(sa.insert(model_aliases).values(alias=alias, model_id=model_id))

    def delete_alias(self, alias: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sa.delete(model_aliases).where(model_aliases.c.alias == alias))


def _build_of(row: sa.RowMapping) -> BuildRecord:
    return BuildRecord(
        model_id=row["model_id"],
        build_number=row["build_number"],
        config=row["config"],
        create_time_ms=row["create_time_ms"],
        total_definition_length=row["total_definition_length"],
        total_parts=row["total_parts"],
        definition_sha256=row["definition_sha256"],
        stored_parts=row["stored_parts"] or 0,
        stored_bytes=int(row["stored_bytes"] or 0),
        has_vocabulary=row["vocabulary_model_id"] is not None,
        comment=row["comment"],
        failure_reason=row["failure_reason"],
    )
