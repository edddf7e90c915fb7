#!/usr/bin/env bash
# What `store.13-message-meta` costs an existing embedded installation (docs/STORAGE.md): an
# index put back in the shape before it (`message.meta`, no `message_meta`) with N rows of 3 KB
# random metadata, then timed while the given binary opens it (`mailvox mailbox list` migrates)
# and the file's size before and after. Needs the sqlite3 shell (its generate_series).
#
#   Tests/load/meta_upgrade.sh .build/release/mailvox [N=1000000]
set -euo pipefail
BIN=$(realpath "$1")
N=${2:-1000000}
WORK=$(mktemp -d /tmp/mvx-meta-upgrade-XXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$BIN" init --data-dir var >/dev/null
echo "long-enough-1" | "$BIN" mailbox add tmpl --name T --password-stdin --config var/mailvox.toml >/dev/null
DB=var/mailvox.sqlite
FOLDER=$(sqlite3 "$DB" "SELECT id FROM folder WHERE mailbox_id = 'tmpl' AND name = 'INBOX'")
sqlite3 "$DB" <<SQL
ALTER TABLE message ADD COLUMN meta BLOB NOT NULL DEFAULT x'';
DROP TABLE message_meta;
DELETE FROM grdb_migrations WHERE identifier = 'store.13-message-meta';
INSERT INTO message (folder_id, uid, modseq, file_name, flags, keywords, size, internal_date, in_cur, meta)
  SELECT $FOLDER, value, value + 1, 'f' || value, 0, '', 1000, 0, 1, randomblob(3000) FROM generate_series(1, $N);
UPDATE folder SET uid_next = $N + 1, highest_modseq = $N + 2 WHERE id = $FOLDER;
SQL
sync
BEFORE=$(stat -c %s "$DB")
START=$(date +%s.%N)
"$BIN" mailbox list --config var/mailvox.toml >/dev/null
END=$(date +%s.%N)
AFTER=$(stat -c %s "$DB")
MOVED=$(sqlite3 "$DB" "SELECT COUNT(*) FROM message_meta")
[ "$MOVED" = "$N" ] || { echo "meta_upgrade: $MOVED of $N rows moved" >&2; exit 1; }
awk -v n="$N" -v s="$START" -v e="$END" -v b="$BEFORE" -v a="$AFTER" 'BEGIN {
  printf "store.13-message-meta: %d messages in %.1f s; %.1f GB -> %.1f GB\n", n, e - s, b / 1e9, a / 1e9 }'
