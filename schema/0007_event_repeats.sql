-- Repeats: identical events by one process within the agent's repeat window fold into the first one stored.

ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;  -- events folded into this one after it
ALTER TABLE events ADD COLUMN last_time_ns INTEGER;                -- the newest of them; NULL without repeats
