-- Publication whose cost follows the night, not the history (docs/architecture.md,
-- "Warehouse storage"). Per-prompt rows (core.classifications, ops.quarantine) move out of the
-- DuckDB file into immutable per-date Parquet files, listed here; the file keeps views over
-- them (recreated by insight_core/warehouse.py, which also moves the rows of an older
-- warehouse out on its first publication) plus the aggregates the models maintain date by date.

-- The live Parquet file of each (dataset, run_date). A rerun writes a new file and swaps the
-- row here, so a reader of the previous publication keeps reading the file it knew.
CREATE TABLE IF NOT EXISTS ops.partitions (
    dataset   VARCHAR NOT NULL,      -- 'classifications' or 'quarantine'
    run_date  DATE    NOT NULL,
    path      VARCHAR NOT NULL,      -- absolute path of an immutable Parquet file
    rows      BIGINT  NOT NULL,
    run_id    VARCHAR NOT NULL,      -- the run that wrote the file
    PRIMARY KEY (dataset, run_date)
);

-- Files a later publication replaced; deleted once no reader can still hold a catalog that
-- names them (insight_core.warehouse.RETIRED_FILE_GRACE after retirement).
CREATE TABLE IF NOT EXISTS ops.retired_partitions (
    path        VARCHAR NOT NULL,
    retired_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Every model build: which dates' per-prompt rows it (re)read. 'full' rebuilds from every
-- partition; 'incremental' only from the weeks and windows the touched dates can affect.
CREATE TABLE IF NOT EXISTS ops.model_builds (
    built_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    mode           VARCHAR NOT NULL,
    touched_dates  DATE[]  NOT NULL
);

-- The dates whose per-prompt rows the last build replaced (read by checks/unique_prompt_ids).
CREATE TABLE IF NOT EXISTS ops.build_scope (
    run_date DATE NOT NULL
);

-- Raw counts per cell, maintained one ISO week at a time (models/002, models/003): the only
-- place the cell grids read per-prompt rows.
CREATE TABLE IF NOT EXISTS core.category_cell_counts (
    grain       VARCHAR NOT NULL,
    period      DATE    NOT NULL,
    week_start  DATE    NOT NULL,
    department  VARCHAR NOT NULL,
    category    VARCHAR NOT NULL,
    prompts     BIGINT  NOT NULL,
    users       BIGINT  NOT NULL
);

CREATE TABLE IF NOT EXISTS core.topic_cell_counts (
    grain          VARCHAR NOT NULL,
    period         DATE    NOT NULL,
    week_start     DATE    NOT NULL,
    model_version  VARCHAR NOT NULL,
    topic_id       INTEGER NOT NULL,
    prompts        BIGINT  NOT NULL,
    users          BIGINT  NOT NULL
);

-- On how many loaded dates each user asked about each topic: analytics.topics counts a
-- topic's distinct users over its whole history without reading that history.
CREATE TABLE IF NOT EXISTS core.topic_users (
    model_version  VARCHAR NOT NULL,
    topic_id       INTEGER NOT NULL,
    user_hash      VARCHAR NOT NULL,
    days           BIGINT  NOT NULL
);

-- Distinct users behind a scored cell's trailing baseline window, kept until the window moves
-- or a date inside it is replaced (models/005-007).
CREATE TABLE IF NOT EXISTS core.baseline_users (
    cell_id        VARCHAR NOT NULL,
    period         DATE    NOT NULL,
    baseline_from  DATE    NOT NULL,
    baseline_users BIGINT  NOT NULL
);

-- Suppression is now kept per ISO week, with the inputs it was decided on, so a build only
-- reruns the fixpoint for weeks whose cells changed (models/004_cell_suppression.sql).
DROP TABLE IF EXISTS core.cell_suppression;
CREATE TABLE core.cell_suppression (
    cell_id      VARCHAR NOT NULL,
    week_start   DATE    NOT NULL,
    prompts      BIGINT  NOT NULL,
    small_group  BOOLEAN NOT NULL,
    suppressed   BOOLEAN NOT NULL,
    reason       VARCHAR,
    passes       INTEGER NOT NULL
);
