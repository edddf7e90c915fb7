import GRDB
import MailvoxCore
import MailvoxDatabase

/// The store's tables, oldest first: the directory (node key, mailboxes, folders, API
/// tokens), then messages with their tombstones and expunge log, then each folder's first
/// recent UID, then the highest UIDVALIDITY ever given, aliases, subscriptions, quota, the
/// record of backups, and so on to the messages' sealed metadata in a table of its own.
public enum StoreMigrations {
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
            ),
            (
                "2-messages",
                { db in
                    // Only what the server sorts and counts is in clear (docs/DESIGN.md §5.4): UID, modseq,
                    // flags, sizes, dates. Caller, subject, envelope and structure are sealed in `meta`.
                    try db.execute(
                        sql: """
                            CREATE TABLE message (
                                id INTEGER PRIMARY KEY AUTOINCREMENT,
                                folder_id INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
                                uid INTEGER NOT NULL,
                                modseq INTEGER NOT NULL,
                                file_name TEXT NOT NULL,
                                deposit_id TEXT,
                                flags INTEGER NOT NULL DEFAULT 0,
                                keywords TEXT NOT NULL DEFAULT '',
                                size INTEGER NOT NULL,
                                internal_date INTEGER NOT NULL,
                                in_cur BOOLEAN NOT NULL DEFAULT 0,
                                meta BLOB NOT NULL,
                                UNIQUE (folder_id, uid),
                                UNIQUE (folder_id, file_name)
                            );
                            CREATE UNIQUE INDEX message_deposit ON message(folder_id, deposit_id)
                                WHERE deposit_id IS NOT NULL;
                            -- A file to unlink, written in the transaction that drops its row and
                            -- removed once the file is gone; start-up replays what is left.
                            CREATE TABLE tombstone (
                                id INTEGER PRIMARY KEY AUTOINCREMENT,
                                path TEXT NOT NULL
                            );
                            -- UIDs expunged per folder with the modseq of their expunge (for QRESYNC).
                            CREATE TABLE expunged (
                                folder_id INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
                                uid INTEGER NOT NULL,
                                modseq INTEGER NOT NULL,
                                PRIMARY KEY (folder_id, uid)
                            );
                            """)
                }
            ),
            (
                "3-recent",
                { db in
                    // RFC 3501 §2.3.2 \Recent: every UID from `first_recent_uid` up has not been
                    // claimed by a session yet. A new folder starts at 1; a folder that exists at
                    // upgrade starts at its UIDNEXT, so mail clients already saw is not recent again.
                    try db.execute(
                        sql: """
                            ALTER TABLE folder ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1;
                            UPDATE folder SET first_recent_uid = uid_next;
                            """)
                }
            ),
            (
                "4-uid-validity",
                { db in
                    // The highest UIDVALIDITY ever given: a deleted folder's value must not come
                    // back for a new folder (RFC 3501 §2.3.1.1), and MAX over the folders that
                    // still exist forgets it.
                    try db.execute(
                        sql: """
                            CREATE TABLE uid_validity_issued (
                                id INTEGER PRIMARY KEY CHECK (id = 1),
                                highest INTEGER NOT NULL
                            );
                            INSERT INTO uid_validity_issued (id, highest)
                                SELECT 1, COALESCE(MAX(uid_validity), 0) FROM folder;
                            """)
                }
            ),
            (
                "5-aliases",
                { db in
                    // Addresses that reach a mailbox besides ID@domain (the SMTP/LMTP door, #15).
                    // Stored lower-cased: local parts are matched without regard to case.
                    try db.execute(
                        sql: """
                            CREATE TABLE mailbox_alias (
                                address TEXT NOT NULL PRIMARY KEY,
                                mailbox_id TEXT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE
                            );
                            CREATE INDEX mailbox_alias_mailbox ON mailbox_alias(mailbox_id);
                            """)
                }
            ),
            (
                "6-subscriptions",
                { db in
                    // Subscriptions are names, not folders (RFC 3501 §6.3.6): one outlives its
                    // deleted folder until the client unsubscribes, and LIST (SUBSCRIBED) shows
                    // it as \NonExistent (RFC 5258, #14). The folder's flag gives way to them.
                    try db.execute(
                        sql: """
                            CREATE TABLE subscription (
                                mailbox_id TEXT NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                                name TEXT NOT NULL,
                                PRIMARY KEY (mailbox_id, name)
                            ) WITHOUT ROWID;
                            INSERT INTO subscription (mailbox_id, name)
                                SELECT mailbox_id, name FROM folder WHERE subscribed;
                            ALTER TABLE folder DROP COLUMN subscribed;
                            """)
                }
            ),
            (
                "7-quota",
                { db in
                    // Per-mailbox limits (RFC 9208 STORAGE in MiB, MESSAGE); NULL takes [quota]'s
                    // default, 0 is none. quota_warned remembers the warning alert was sent, so
                    // the owner gets one per crossing, not one per voicemail.
                    try db.execute(
                        sql: """
                            ALTER TABLE mailbox ADD COLUMN quota_mb INTEGER;
                            ALTER TABLE mailbox ADD COLUMN quota_messages INTEGER;
                            ALTER TABLE mailbox ADD COLUMN quota_warned BOOLEAN NOT NULL DEFAULT 0;
                            """)
                }
            ),
            (
                "8-backups",
                { db in
                    // One row per `mailvox backup` run (docs/OPERATIONS.md): `doctor` warns when no
                    // run that ended 'ok' is younger than [backup] warn_after_days. A run killed
                    // before its end stays 'running'.
                    try db.execute(
                        sql: """
                            CREATE TABLE backup (
                                id INTEGER PRIMARY KEY AUTOINCREMENT,
                                started_at REAL NOT NULL,
                                finished_at REAL,
                                target TEXT NOT NULL,
                                run TEXT,
                                kind TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
                                result TEXT NOT NULL CHECK (result IN ('running', 'ok', 'problems', 'failed')),
                                files INTEGER NOT NULL DEFAULT 0,
                                bytes_written INTEGER NOT NULL DEFAULT 0,
                                detail TEXT
                            );
                            """)
                }
            ),
            (
                "9-recoverable",
                { db in
                    // Nothing deleted by accident (#19, docs/OPERATIONS.md). An expunged message
                    // becomes a row of the mailbox's read-only "Recently Deleted" folder, and
                    // `deletion` says where it was and who expunged it when; the maintenance
                    // service purges it after [retention] deleted_days. `filed_at` is when a row
                    // entered its folder (NULL for rows older than this: their internal date),
                    // which the folder aging rules count from. A held mailbox is never purged; a
                    // removed one stays recoverable until `removed_at` + deleted_days.
                    try db.execute(
                        sql: """
                            CREATE TABLE deletion (
                                message_id INTEGER PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
                                folder_name TEXT NOT NULL,
                                uid INTEGER NOT NULL,
                                deleted_at INTEGER NOT NULL,
                                deleted_by TEXT NOT NULL
                            );
                            CREATE INDEX deletion_deleted_at ON deletion(deleted_at);
                            ALTER TABLE message ADD COLUMN filed_at INTEGER;
                            ALTER TABLE mailbox ADD COLUMN held_since INTEGER;
                            ALTER TABLE mailbox ADD COLUMN hold_reason TEXT;
                            ALTER TABLE mailbox ADD COLUMN removed_at INTEGER;
                            ALTER TABLE mailbox ADD COLUMN trash_days INTEGER;
                            ALTER TABLE mailbox ADD COLUMN inbox_days INTEGER;
                            ALTER TABLE mailbox ADD COLUMN saved_days INTEGER;
                            """)
                    // A user's own folder of that name (and its children) steps aside.
                    let name = FolderInfo.recentlyDeleted
                    try db.execute(
                        sql: """
                            UPDATE folder SET name = ? || substr(name, ?)
                            WHERE name = ? OR substr(name, 1, ?) = ?
                            """,
                        arguments: [name + " (old)", name.count + 1, name, name.count + 1, name + "/"])
                    for id in try String.fetchAll(db, sql: "SELECT id FROM mailbox") {
                        guard let mailbox = MailboxID(id) else { continue }
                        try Directory.insertFolder(
                            GRDBConnection(db: db), mailbox: mailbox, name: name, specialUse: nil)
                    }
                }
            ),
            (
                "10-departments",
                { db in
                    // Departments (#16, docs/DEPARTMENTS.md). `member`: who reaches which
                    // mailbox with their own login, with which RFC 4314 rights (letters), and
                    // whether voicemail alerts of it reach them too. `mailbox.login = 0` is a
                    // mailbox only its members open (`--no-login`). `audit`: who did what in a
                    // mailbox that has members, each entry sealed to the mailbox's key like a
                    // message's headers, kept [audit] days.
                    try db.execute(
                        sql: """
                            CREATE TABLE member (
                                mailbox_id TEXT NOT NULL COLLATE NOCASE REFERENCES mailbox(id) ON DELETE CASCADE,
                                member_id TEXT NOT NULL COLLATE NOCASE REFERENCES mailbox(id) ON DELETE CASCADE,
                                rights TEXT NOT NULL,
                                alerts TEXT NOT NULL DEFAULT '',
                                added_at INTEGER NOT NULL,
                                PRIMARY KEY (mailbox_id, member_id),
                                CHECK (mailbox_id <> member_id)
                            );
                            CREATE INDEX member_member ON member(member_id);
                            ALTER TABLE mailbox ADD COLUMN login INTEGER NOT NULL DEFAULT 1;
                            CREATE TABLE audit (
                                id INTEGER PRIMARY KEY,
                                mailbox_id TEXT NOT NULL COLLATE NOCASE REFERENCES mailbox(id) ON DELETE CASCADE,
                                at INTEGER NOT NULL,
                                entry BLOB NOT NULL
                            );
                            CREATE INDEX audit_mailbox_at ON audit(mailbox_id, at);
                            """)
                    // The shared namespace's prefix is no personal folder's name any more.
                    let prefix = NamespaceStore.sharedPrefix.lowercased()
                    for (id, name) in try Row.fetchAll(
                        db, sql: "SELECT id, name FROM folder WHERE lower(name) = ? OR lower(name) LIKE ?",
                        arguments: [prefix, prefix + "/%"]
                    ).map({ ($0["id"] as Int64, $0["name"] as String) }) {
                        let slash = name.firstIndex(of: "/") ?? name.endIndex
                        let renamed = name[..<slash] + " (old)" + name[slash...]
                        try db.execute(
                            sql: "UPDATE folder SET name = ? WHERE id = ?", arguments: [String(renamed), id])
                    }
                }
            ),
            (
                "11-web",
                { db in
                    // The web inbox (docs/WEB.md). `personal_token`: tokens a mailbox's owner
                    // makes for programs that call the API as them, kept as SHA-256 only.
                    // `mailbox.totp_secret`: the TOTP second factor's secret, sealed to the
                    // mailbox's own key like its messages; NULL when the mailbox has none.
                    try db.execute(
                        sql: """
                            CREATE TABLE personal_token (
                                mailbox_id TEXT NOT NULL COLLATE NOCASE REFERENCES mailbox(id) ON DELETE CASCADE,
                                name TEXT NOT NULL,
                                token_sha256 BLOB NOT NULL UNIQUE,
                                created_at DATETIME NOT NULL,
                                last_used_at DATETIME,
                                PRIMARY KEY (mailbox_id, name)
                            );
                            ALTER TABLE mailbox ADD COLUMN totp_secret BLOB;
                            """)
                }
            ),
            (
                "12-shared-logins",
                { db in
                    // What logins leave behind, as rows every node of a shared database reads:
                    // the web inbox's signed-in sessions and sign-ins waiting for their second
                    // factor (docs/WEB.md; the cookie's token only as its SHA-256);
                    // `mailbox.totp_last_step`, the newest TOTP time step accepted, so a code is
                    // good once on every node; and `auth_failure`, the password failures counted
                    // per key (its SHA-256: no client address on disk), so a lockout holds on
                    // every node.
                    try db.execute(sql: Self.sharedLoginsSQL(loginType: "TEXT NOT NULL COLLATE NOCASE", blob: "BLOB"))
                }
            ),
            (
                "13-message-meta",
                { db in try db.execute(sql: Self.messageMetaSQL(id: "INTEGER", blob: "BLOB")) }
            ),
        ])

    /// A message's sealed metadata (caller, header block, envelope, structure: some 3 KB) moves
    /// out of `message` into a table of its own, read only by what opens it (FETCH ENVELOPE,
    /// BODYSTRUCTURE, header fields; SEARCH on headers; fsck). `message` keeps what SELECT and
    /// FETCH FLAGS read, some 100 bytes a row: at ten million messages its pages fit in memory,
    /// where with the metadata inline every message was a page of its own and a SELECT of a
    /// cold folder read one from disk per message (docs/SCALE-OUT.md). PostgreSQL already kept
    /// the value out of line (TOAST); there it is never compressed: ciphertext does not shrink.
    static func messageMetaSQL(id: String, blob: String) -> String {
        """
        CREATE TABLE message_meta (
            message_id \(id) PRIMARY KEY REFERENCES message(id) ON DELETE CASCADE,
            meta \(blob) NOT NULL
        );
        INSERT INTO message_meta (message_id, meta) SELECT id, meta FROM message;
        ALTER TABLE message DROP COLUMN meta;
        """
    }

    /// `web_session`, `mailbox.totp_last_step` and `auth_failure` in either server's types.
    static func sharedLoginsSQL(loginType: String, blob: String) -> String {
        """
        CREATE TABLE web_session (
            token_sha256 \(blob) NOT NULL PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('session', 'pending')),
            login \(loginType) REFERENCES mailbox(id) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            started DOUBLE PRECISION NOT NULL,
            last_seen DOUBLE PRECISION NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX web_session_login ON web_session(login);
        ALTER TABLE mailbox ADD COLUMN totp_last_step BIGINT;
        CREATE TABLE auth_failure (
            key_sha256 TEXT NOT NULL PRIMARY KEY,
            failures BIGINT NOT NULL,
            last DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX auth_failure_last ON auth_failure(last);
        """
    }
}
