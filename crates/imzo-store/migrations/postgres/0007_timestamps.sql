-- Time-stamping authority (round 2, R6). Keep in step with ../sqlite/0007_timestamps.sql.

-- Every token the TSA issued: the primary key makes serial numbers unique across all
-- nodes (a node that draws a serial already taken draws again).
CREATE TABLE timestamps (
    serial        TEXT PRIMARY KEY,          -- lower-case hex
    tsa_serial    TEXT NOT NULL,             -- serial of the TSA certificate that signed
    policy        TEXT NOT NULL,             -- dotted OID
    hash_alg      TEXT NOT NULL,             -- dotted OID of the imprint's hash
    imprint       BYTEA NOT NULL,
    gen_time_ms   BIGINT NOT NULL
);
CREATE INDEX timestamps_gen_time ON timestamps(gen_time_ms);
