import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox mailbox audit` (#16) through the built binary: the table and the JSON of entries
/// sealed into the database, `--since` as a time or a span, the clear errors, and `mailvox
/// maintenance` purging past `[audit] days` (`MAILVOX_AUDIT_DAYS`) but never a held mailbox.
///
/// No command writes audit entries and this target does not link the store, so the test seals
/// them itself: `seal_audit.py` below is MVX1 written from docs/STORAGE.md with RFC 9180's HPKE
/// in Python's `cryptography` — a second implementation the binary must open.
@Suite struct AuditCLITests {
    static let sealer = #"""
        import hashlib, hmac, json, os, sqlite3, struct, sys
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        def extract(salt, ikm):
            return hmac.new(salt, ikm, hashlib.sha256).digest()

        def expand(prk, info, length):
            out, block, counter = b"", b"", 1
            while len(out) < length:
                block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
                out, counter = out + block, counter + 1
            return out[:length]

        # RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode.
        KEM = b"KEM" + struct.pack(">H", 0x20)
        SUITE = b"HPKE" + struct.pack(">HHH", 0x20, 0x01, 0x02)

        def labeled_extract(suite, salt, label, ikm):
            return extract(salt, b"HPKE-v1" + suite + label + ikm)

        def labeled_expand(suite, prk, label, info, length):
            return expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite + label + info, length)

        def raw(public):
            return public.public_bytes(Encoding.Raw, PublicFormat.Raw)

        def sender_context(recipient, info):
            """SetupBaseS: the encapsulated key, and the sender's AEAD key and base nonce."""
            ephemeral = X25519PrivateKey.generate()
            enc = raw(ephemeral.public_key())
            dh = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
            prk = labeled_extract(KEM, b"", b"eae_prk", dh)
            shared = labeled_expand(KEM, prk, b"shared_secret", enc + recipient, 32)
            context = (b"\x00" + labeled_extract(SUITE, b"", b"psk_id_hash", b"")
                       + labeled_extract(SUITE, b"", b"info_hash", info))
            secret = labeled_extract(SUITE, shared, b"secret", b"")
            return (enc, labeled_expand(SUITE, secret, b"key", context, 32),
                    labeled_expand(SUITE, secret, b"base_nonce", context, 12))

        def seal(plaintext, owner, recipient):
            owner = owner.encode()
            message_key, nonce_base = os.urandom(32), os.urandom(12)
            enc, key, nonce = sender_context(recipient, b"mailvox MVX1 message key\x00" + owner)
            header = (b"MVX1" + bytes([1, len(owner)]) + owner + hashlib.sha256(recipient).digest()[:8]
                      + bytes([len(enc)]) + enc + struct.pack(">IQ", 65536, len(plaintext)) + nonce_base)
            # The message key is HPKE's first message (sequence 0), bound to the header so far.
            wrapped = AESGCM(key).encrypt(nonce, message_key, header)
            header += bytes([len(wrapped)]) + wrapped
            # One chunk, index 0 and the last: the base nonce as is; header digest, index, mark bound.
            chunk_data = hashlib.sha256(header).digest() + struct.pack(">QB", 0, 1)
            return header + AESGCM(message_key).encrypt(nonce_base, plaintext, chunk_data)

        database, mailbox = sys.argv[1], sys.argv[2]
        connection = sqlite3.connect(database)
        owner_id, public_key = connection.execute(
            "SELECT id, public_key FROM mailbox WHERE id = ?", (mailbox,)).fetchone()
        for entry in json.load(sys.stdin):
            unix = entry.pop("unix")
            # Swift's JSONDecoder reads a Date as seconds since 2001-01-01.
            entry["at"] = unix - 978307200
            blob = seal(json.dumps(entry).encode(), "mailbox:" + owner_id, public_key)
            connection.execute(
                "INSERT INTO audit (mailbox_id, at, entry) VALUES (?, ?, ?)", (owner_id, int(unix // 1), blob))
        connection.commit()
        """#

    /// Seals `entries` (with `unix` for the time) into `mailbox`'s log, as the server would.
    func record(_ entries: [[String: Any]], mailbox: String, cli: CLI) throws {
        let script = cli.directory + "/seal_audit.py"
        try Self.sealer.write(toFile: script, atomically: true, encoding: .utf8)
        let input = try JSONSerialization.data(withJSONObject: entries)
        let result = try Subprocess.run(
            Subprocess.python, [script, cli.directory + "/var/mailvox.sqlite", mailbox], in: cli.directory,
            stdin: input)
        try #require(result.status == 0, "\(result.output)")
    }

    func json(_ text: String) -> [[String: Any]]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
    }

    @Test func auditShowsFiltersAndPurges() throws {
        var cli = try CLI()
        try #require(try cli.run(["init", "--data-dir", "var"]).status == 0)
        let add = try cli.run(
            ["mailbox", "add", "Sales", "--name", "Sales", "--password-stdin"], stdin: "long-enough-1")
        try #require(add.status == 0, "\(add.stderr)")

        let empty = try cli.run(["mailbox", "audit", "sales"])
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stdout == "no audit entries for Sales in the last 90 days\n", "\(empty.stdout)")
        #expect(json(try cli.run(["mailbox", "audit", "Sales", "--json"]).stdout)?.isEmpty == true)
        let unknown = try cli.run(["mailbox", "audit", "9999"])
        #expect(unknown.status != 0 && unknown.stderr == "mailvox: unknown mailbox 9999\n", "\(unknown.stderr)")
        let badSince = try cli.run(["mailbox", "audit", "Sales", "--since", "last week"])
        #expect(badSince.status == 2, "\(badSince.stderr)")
        #expect(badSince.stderr.contains("--since: \"last week\" is neither an ISO 8601 time nor a span"))

        let now = Date().timeIntervalSince1970.rounded(.down)
        try record(
            [
                ["unix": now - 100 * 86_400, "actor": "2000", "address": "192.0.2.7", "action": "login"],
                [
                    "unix": now - 7_200, "actor": "2000", "address": "192.0.2.7", "action": "open",
                    "folder": "INBOX",
                ],
                [
                    "unix": now - 3_600, "actor": "2001", "address": "2001:db8::5", "action": "flags",
                    "folder": "INBOX", "detail": "+\\Seen 3,4",
                ],
            ], mailbox: "Sales", cli: cli)

        let table = try cli.run(["mailbox", "audit", "Sales"])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(table.stdout)")
        #expect(
            lines.first?.split(separator: " ").map(String.init) == [
                "TIME", "WHO", "FROM", "ACTION", "FOLDER", "DETAIL",
            ])
        let iso = ISO8601DateFormatter()
        #expect(
            lines.dropFirst().map { $0.split(separator: " ").dropFirst().map(String.init) } == [
                ["2000", "192.0.2.7", "login", "-", "-"],
                ["2000", "192.0.2.7", "open", "INBOX", "-"],
                ["2001", "2001:db8::5", "flags", "INBOX", "+\\Seen", "3,4"],
            ], "\(table.stdout)")
        #expect(lines[3].hasPrefix(iso.string(from: Date(timeIntervalSince1970: now - 3_600))))

        let recent = try cli.run(["mailbox", "audit", "Sales", "--since", "24h", "--json"])
        #expect(recent.status == 0, "\(recent.stderr)")
        let entries = try #require(json(recent.stdout), "\(recent.stdout)")
        #expect(entries.map { $0["action"] as? String } == ["open", "flags"])
        #expect(entries.last?["at"] as? String == iso.string(from: Date(timeIntervalSince1970: now - 3_600)))
        #expect(entries.last?["actor"] as? String == "2001" && entries.last?["address"] as? String == "2001:db8::5")
        #expect(entries.last?["folder"] as? String == "INBOX" && entries.last?["detail"] as? String == "+\\Seen 3,4")
        let since = iso.string(from: Date(timeIntervalSince1970: now - 3_600))
        #expect(json(try cli.run(["mailbox", "audit", "Sales", "--since", since, "--json"]).stdout)?.count == 1)
        #expect(json(try cli.run(["mailbox", "audit", "Sales", "--since", "101d", "--json"]).stdout)?.count == 3)
        let none = try cli.run(["mailbox", "audit", "Sales", "--since", "1h"])
        #expect(none.stdout.hasPrefix("no audit entries for Sales since "), "\(none.stdout)")

        // [audit] days (90): the 100-day-old login goes, the rest stays.
        let purge = try cli.run(["maintenance"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stdout.contains("audit: purged 1 entry"), "\(purge.stdout)")
        #expect(json(try cli.run(["mailbox", "audit", "Sales", "--json"]).stdout)?.count == 2)

        // A held mailbox keeps its log; released, the override's single day applies.
        let later = iso.string(from: Date(timeIntervalSince1970: now + 2 * 86_400))
        cli.environment["MAILVOX_AUDIT_DAYS"] = "1"
        #expect(try cli.run(["mailbox", "hold", "Sales", "--on"]).status == 0)
        #expect(try cli.run(["maintenance", "--now", later]).stdout.contains("audit: purged 0 entries"))
        #expect(try cli.run(["mailbox", "hold", "Sales", "--off"]).status == 0)
        let released = try cli.run(["maintenance", "--now", later])
        #expect(released.stdout.contains("audit: purged 2 entries"), "\(released.stdout)\(released.stderr)")
        #expect(try cli.run(["mailbox", "audit", "Sales"]).stdout == "no audit entries for Sales in the last 1 day\n")
        cli.environment["MAILVOX_AUDIT_DAYS"] = "0"
        let refused = try cli.run(["mailbox", "audit", "Sales"])
        #expect(refused.status == 2 && refused.stderr.contains("MAILVOX_AUDIT_DAYS"), "\(refused.stderr)")
    }
}
