-- Where a quarantined row came from: the file and its 1-based line. For a line the reader could
-- not parse the line is exact; a whole unreadable file has no line. (For rows that parsed, the
-- line assumes one record per line, as in JSON Lines and CSV without quoted line breaks.)
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS source_file VARCHAR;
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS source_line BIGINT;
