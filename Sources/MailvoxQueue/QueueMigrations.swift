import GRDB
import MailvoxDatabase

/// The queue's tables: jobs and deposit records, then the last alert result per recipient, then
/// the digest of each deposit's body. Rows hold ids, states and digests only; what a deposit says
/// (audio, caller) is in its sealed file under `queue/`.
public enum QueueMigrations {
    public static let set = MigrationSet(
        module: "queue",
        migrations: [
            (
                "1-jobs",
                { db in
                    try db.execute(
                        sql: """
                            CREATE TABLE deposit (
                                id TEXT NOT NULL PRIMARY KEY,
                                mailbox_id TEXT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                                idempotency_sha256 BLOB,
                                status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'failed')),
                                uid INTEGER,
                                error_code TEXT,
                                error_message TEXT,
                                created_at REAL NOT NULL,
                                updated_at REAL NOT NULL
                            );
                            CREATE UNIQUE INDEX deposit_idempotency ON deposit(mailbox_id, idempotency_sha256)
                                WHERE idempotency_sha256 IS NOT NULL;
                            CREATE TABLE job (
                                id INTEGER PRIMARY KEY AUTOINCREMENT,
                                kind TEXT NOT NULL,
                                deposit_id TEXT NOT NULL REFERENCES deposit(id) ON DELETE CASCADE,
                                channel TEXT NOT NULL DEFAULT '',
                                recipient TEXT NOT NULL DEFAULT '',
                                state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'dead')),
                                attempts INTEGER NOT NULL DEFAULT 0,
                                run_after REAL NOT NULL,
                                lease_owner TEXT,
                                lease_expires REAL,
                                last_error TEXT,
                                created_at REAL NOT NULL,
                                updated_at REAL NOT NULL,
                                UNIQUE (kind, deposit_id, channel, recipient)
                            );
                            CREATE INDEX job_ready ON job(state, run_after);
                            """)
                }
            ),
            (
                "2-alerts",
                { db in
                    // The last alert result per (mailbox, channel, recipient), for `mailbox show` and
                    // `/metrics`. The recipient is the owner's own address or number; `detail` is the
                    // relay's or gateway's answer, never caller data.
                    try db.execute(
                        sql: """
                            CREATE TABLE alert_result (
                                mailbox_id TEXT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                                channel TEXT NOT NULL,
                                recipient TEXT NOT NULL,
                                deposit_id TEXT NOT NULL,
                                outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retrying', 'failed')),
                                attempts INTEGER NOT NULL,
                                detail TEXT,
                                at REAL NOT NULL,
                                PRIMARY KEY (mailbox_id, channel, recipient)
                            );
                            """)
                }
            ),
            (
                "3-body-digest",
                { db in
                    // SHA-256 of the deposit's mailbox and audio bytes, beside its idempotency key's
                    // digest: a key used again with a different recording is refused instead of
                    // answered as the first deposit (which dropped the new one). Deposits recorded
                    // before this migration have none and keep answering repeats as duplicates.
                    try db.execute(sql: "ALTER TABLE deposit ADD COLUMN body_sha256 BLOB")
                }
            ),
        ])

    /// The same tables on PostgreSQL (`[storage] backend = "postgres"`), with the same names,
    /// columns, constraints and meaning, in PostgreSQL's types: BIGINT for INTEGER, DOUBLE
    /// PRECISION for REAL, BYTEA for BLOB, an identity column for AUTOINCREMENT. The migration
    /// names match the SQLite ones, so `queue.N-…` means the same step on both.
    ///
    /// `queue.4-mailbox-keys` adds the foreign keys from `deposit` and `alert_result` to
    /// `mailbox(id)` that SQLite's `queue.1`/`queue.2` have, now that the store's tables exist
    /// (`StoreMigrations.postgres` runs first). Their columns become `citext`, the type of the
    /// key they reference (PostgreSQL refuses a TEXT foreign key to a citext key).
    public static let postgres = PostgresMigrationSet(
        module: "queue",
        migrations: [
            (
                "1-jobs",
                """
                CREATE TABLE deposit (
                    id TEXT NOT NULL PRIMARY KEY,
                    mailbox_id TEXT NOT NULL,
                    idempotency_sha256 BYTEA,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'failed')),
                    uid BIGINT,
                    error_code TEXT,
                    error_message TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                );
                CREATE UNIQUE INDEX deposit_idempotency ON deposit(mailbox_id, idempotency_sha256)
                    WHERE idempotency_sha256 IS NOT NULL;
                CREATE TABLE job (
                    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                    kind TEXT NOT NULL,
                    deposit_id TEXT NOT NULL REFERENCES deposit(id) ON DELETE CASCADE,
                    channel TEXT NOT NULL DEFAULT '',
                    recipient TEXT NOT NULL DEFAULT '',
                    state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'dead')),
                    attempts BIGINT NOT NULL DEFAULT 0,
                    run_after DOUBLE PRECISION NOT NULL,
                    lease_owner TEXT,
                    lease_expires DOUBLE PRECISION,
                    last_error TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    UNIQUE (kind, deposit_id, channel, recipient)
                );
                CREATE INDEX job_ready ON job(state, run_after);
                """
            ),
            (
                "2-alerts",
                """
                CREATE TABLE alert_result (
                    mailbox_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    deposit_id TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retrying', 'failed')),
                    attempts BIGINT NOT NULL,
                    detail TEXT,
                    at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (mailbox_id, channel, recipient)
                );
                """
            ),
            ("3-body-digest", "ALTER TABLE deposit ADD COLUMN body_sha256 BYTEA"),
            (
                "4-mailbox-keys",
                """
                ALTER TABLE deposit ALTER COLUMN mailbox_id TYPE citext;
                ALTER TABLE deposit ADD FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE;
                ALTER TABLE alert_result ALTER COLUMN mailbox_id TYPE citext;
                ALTER TABLE alert_result ADD FOREIGN KEY (mailbox_id) REFERENCES mailbox(id) ON DELETE CASCADE;
                """
            ),
        ])
}
