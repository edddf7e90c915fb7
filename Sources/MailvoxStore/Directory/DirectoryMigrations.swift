import GRDB
import MailvoxDatabase

/// The mailbox directory's tables: the node key, mailboxes, their folders, API tokens.
public enum DirectoryMigrations {
    public static let set = MigrationSet(
        module: "store",
        migrations: [
            (
                "1-directory",
                { db in
                    // The node's key pair: deposits and alert copies are sealed to its public half.
                    try db.execute(
                        sql: """
                            CREATE TABLE node_key (
                                id INTEGER PRIMARY KEY CHECK (id = 1),
                                public_key BLOB NOT NULL,
                                wrapped_private_key BLOB NOT NULL,
                                master_key_id TEXT NOT NULL,
                                created_at DATETIME NOT NULL
                            );
                            CREATE TABLE mailbox (
                                id TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
                                display_name TEXT NOT NULL,
                                emails TEXT NOT NULL DEFAULT '[]',
                                sms_numbers TEXT NOT NULL DEFAULT '[]',
                                time_zone TEXT,
                                language TEXT,
                                attach_audio BOOLEAN NOT NULL DEFAULT 1,
                                delete_after_email BOOLEAN NOT NULL DEFAULT 0,
                                password_hash TEXT NOT NULL,
                                public_key BLOB NOT NULL,
                                wrapped_private_key BLOB NOT NULL,
                                master_key_id TEXT NOT NULL,
                                created_at DATETIME NOT NULL,
                                updated_at DATETIME NOT NULL
                            );
                            CREATE TABLE folder (
                                id INTEGER PRIMARY KEY AUTOINCREMENT,
                                mailbox_id TEXT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                                name TEXT NOT NULL,
                                special_use TEXT,
                                uid_validity INTEGER NOT NULL,
                                uid_next INTEGER NOT NULL DEFAULT 1,
                                highest_modseq INTEGER NOT NULL DEFAULT 1,
                                subscribed BOOLEAN NOT NULL DEFAULT 1,
                                created_at DATETIME NOT NULL,
                                UNIQUE (mailbox_id, name)
                            );
                            CREATE TABLE api_token (
                                name TEXT NOT NULL PRIMARY KEY,
                                token_sha256 BLOB NOT NULL UNIQUE,
                                created_at DATETIME NOT NULL,
                                last_used_at DATETIME
                            );
                            """)
                }
            )
        ])
}
