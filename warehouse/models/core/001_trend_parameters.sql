-- ops.trend_parameters: the knobs of spike and emerging-topic detection (one row), documented
-- in docs/analytics.md. They live here rather than in settings so that a change is a reviewed
-- code change and every rebuild, rerun or backfill uses the same values.
CREATE OR REPLACE TABLE ops.trend_parameters AS
SELECT
    4.0  AS min_spike_score,        -- robust z-score of a spike (about 5% false alarms a month
                                    -- over ~2,000 scored cells, Bonferroni)
    2.0  AS min_streak_score,       -- z-score that keeps a streak (and its alert) open
    1.5  AS min_spike_ratio,        -- a spike's share is also at least 1.5x its baseline share
    10   AS min_spike_prompts,      -- ... and counts at least 10 prompts
    20   AS daily_baseline_days,    -- trailing days of the same type (weekday or weekend)
    5    AS daily_min_history,      -- fewer usable trailing days: no daily score
    8    AS weekly_baseline_weeks,  -- trailing complete ISO weeks
    2    AS weekly_min_history,     -- fewer trailing complete weeks: no weekly score
    4    AS mad_min_history,        -- below this many baseline periods the MAD is not trusted
    0.15 AS topic_match_similarity; -- token Jaccard of top words that makes two topics "the same"
