import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox backup`, `backup verify` and `restore` through the built binary (docs/OPERATIONS.md).
@Suite struct BackupTests {
    static let onlineScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("backup/online_backup.py").path

    /// A data dir with mailbox 1000 and `count` deposits waiting in the queue (no server runs,
    /// so each is a sealed file the index references: a backup has something to take).
    func prepared(deposits count: Int) throws -> CLI {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(
            try cli.run(["mailbox", "add", "1000", "--name", "Front Desk", "--password-stdin"], stdin: "long-enough-1")
                .status == 0)
        let speech = try Subprocess.shell("espeak-ng 'Please call me back.' -w hello.wav", in: cli.directory)
        #expect(speech.succeeded, "\(speech.stdout)\(speech.stderr)")
        try deposit(cli, count)
        return cli
    }

    func deposit(_ cli: CLI, _ count: Int) throws {
        for _ in 0..<count {
            let result = try cli.run(["deposit", "--mailbox", "1000", "--caller-number", "+4930123456", "hello.wav"])
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    func blobs(_ directory: String) -> [String] {
        let root = directory + "/blobs"
        return ((try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []).filter { $0.count > 3 }
            .map { root + "/" + $0 }.sorted()
    }

    /// Replaces `path` by a copy with `change` applied: a new inode, so a hard-linked blob's
    /// twin in the data dir stays as it was.
    func rewrite(_ path: String, _ change: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&data)
        unlink(path)
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test func backupVerifyRestoreAndFsck() throws {
        let cli = try prepared(deposits: 3)
        let backup = try cli.run(["backup", "--to", "backups"])
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("3 files, 3 new blobs hard-linked"), "\(backup.stdout)")
        let verify = try cli.run(["backup", "verify", "backups"])
        #expect(verify.status == 0 && verify.stdout.contains(": ok, 3 files"), "\(verify.stdout)\(verify.stderr)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: cli.directory + "/backups").filter {
            $0.hasPrefix("20")
        }
        #expect(runs.count == 1)
        let manifest = try String(contentsOfFile: cli.directory + "/backups/\(runs[0])/manifest", encoding: .utf8)
        #expect(!manifest.contains("master.key") && !manifest.contains("key.pem"), "no key is ever in a backup")
        let keyID = try #require(
            try cli.run(["doctor"]).stdout.firstMatch(of: /id ([0-9a-f]{16})/).map { String($0.1) })

        let restore = try cli.run(["restore", "--from", "backups", "--data-dir", "restored"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("put master key \(keyID)"), "\(restore.stdout)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/restored/keys/master.key"))
        #expect(FileManager.default.fileExists(atPath: cli.directory + "/restored/tls/key.pem"), "a new certificate")

        let wrongKey = try cli.run(["restore", "--from", "backups", "--data-dir", "other", "--master-key", "/dev/null"])
        #expect(wrongKey.status != 0)
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/other"))

        let withKey = try cli.run([
            "restore", "--from", "backups", "--data-dir", "restored2", "--master-key", "var/keys/master.key",
        ])
        #expect(withKey.status == 0, "\(withKey.stderr)")
        #expect(withKey.stdout.contains("master key \(keyID) installed"), "\(withKey.stdout)")
        // The restored server delivers the three deposits the backup held in its queue.
        var restored = cli
        restored.environment["MAILVOX_CONFIG"] = cli.directory + "/restored2/mailvox.toml"
        let log = cli.directory + "/restored-serve.log"
        let server = try restored.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var delivered = false
        for _ in 0..<150 where !delivered {
            let shown = try restored.run(["mailbox", "show", "1000", "--json"]).stdout
            let object = try? JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any]
            let folders = object?["folders"] as? [[String: Any]] ?? []
            delivered = folders.first { $0["name"] as? String == "INBOX" }?["messages"] as? Int == 3
            if !delivered { usleep(200_000) }
        }
        let shown = try restored.run(["mailbox", "show", "1000"]).stdout
        #expect(delivered, "\(shown)")
        let fsck = try restored.run(["fsck"])
        #expect(fsck.status == 0 && fsck.stdout.contains("clean"), "\(fsck.stdout)\(fsck.stderr)")
    }

    @Test func tamperedBackupsAreRefusedAndNothingIsWritten() throws {
        let cli = try prepared(deposits: 3)
        #expect(try cli.run(["backup", "--to", "good"]).status == 0)
        func tampered(_ name: String, _ change: (String) throws -> Void) throws -> (CLI.Result, CLI.Result) {
            #expect(try Subprocess.shell("cp -a good \(name)", in: cli.directory).succeeded)
            try change(cli.directory + "/" + name)
            let verify = try cli.run(["backup", "verify", name])
            let restore = try cli.run(["restore", "--from", name, "--data-dir", "restored-\(name)"])
            #expect(verify.status == 1, "\(name): \(verify.stdout)\(verify.stderr)")
            #expect(restore.status == 1, "\(name): \(restore.stdout)\(restore.stderr)")
            #expect(restore.stderr.contains("nothing was written"), "\(restore.stderr)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: cli.directory).filter {
                $0.contains("restored-\(name)")
            }
            #expect(leftovers.isEmpty, "\(name): restore left \(leftovers)")
            return (verify, restore)
        }
        let flipped = try tampered("flipped") { root in
            try rewrite(blobs(root)[0]) { $0[$0.count / 2] ^= 0x01 }
        }
        #expect(flipped.0.stderr.contains("content differs from its SHA-256"), "\(flipped.0.stderr)")
        #expect(flipped.1.stderr.contains("content differs from its SHA-256"), "\(flipped.1.stderr)")

        let missing = try tampered("missing") { root in unlink(blobs(root)[1]) }
        #expect(missing.0.stderr.contains("missing"), "\(missing.0.stderr)")

        let edited = try tampered("edited") { root in
            let run = try FileManager.default.contentsOfDirectory(atPath: root).first { $0.hasPrefix("20") }!
            // A line dropped from the manifest: a chunk of the entries, whose files would silently
            // not be restored.
            try rewrite("\(root)/\(run)/manifest") { data in
                var lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                lines.remove(at: lines.lastIndex { $0.hasPrefix("chunk") }!)
                data = Data((lines.joined(separator: "\n") + "\n").utf8)
            }
        }
        #expect(edited.0.stderr.contains("the manifest was edited"), "\(edited.0.stderr)")
        #expect(edited.1.stderr.contains("the manifest was edited"), "\(edited.1.stderr)")

        // The manifest and its digest edited together still meet the snapshot's own index.
        let consistent = try tampered("consistent") { root in
            let run = try FileManager.default.contentsOfDirectory(atPath: root).first { $0.hasPrefix("20") }!
            // The entries replaced by none (the SHA-256 of no bytes), with no chunk.
            let lines = try String(contentsOfFile: "\(root)/\(run)/manifest", encoding: .utf8)
                .split(separator: "\n")
            let entries = try #require(lines.firstIndex { $0.hasPrefix("entries\t") })
            let text =
                lines[..<entries] + [
                    "entries\te3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\t0\t0", "end\t0\t0",
                ]
            let manifest = text.joined(separator: "\n") + "\n"
            try rewrite("\(root)/\(run)/manifest") { $0 = Data(manifest.utf8) }
            let digest = try Subprocess.shell("sha256sum \(run)/manifest | cut -d' ' -f1", in: root).stdout
            try rewrite("\(root)/\(run)/manifest.sha256") {
                $0 = Data("\(digest.trimmingCharacters(in: .whitespacesAndNewlines))  manifest\n".utf8)
            }
        }
        #expect(consistent.0.stderr.contains("has no blob in the manifest"), "\(consistent.0.stderr)")
        #expect(try cli.run(["backup", "verify", "good"]).status == 0, "the original is untouched")
    }

    @Test func incrementalCopiesOnlyNewBlobs() throws {
        let cli = try prepared(deposits: 4)
        // /dev/shm is another file system here: blobs are copied, so bytes written count.
        let shm = "/dev/shm/mvx-backup-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: shm) }
        let full = try cli.run(["backup", "--to", shm])
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stdout.contains("4 files, 4 new blobs copied, 0 reused"), "\(full.stdout)")
        try deposit(cli, 2)
        let incremental = try cli.run(["backup", "--to", shm, "--incremental"])
        #expect(incremental.status == 0, "\(incremental.stderr)")
        #expect(incremental.stdout.contains("6 files, 2 new blobs copied, 4 reused"), "\(incremental.stdout)")
        func bytesRead(_ output: String) -> Int {
            Int(output.firstMatch(of: /(\d+) bytes read/).map { String($0.1) } ?? "") ?? -1
        }
        // Only the two new deposits were read and copied (deposit files differ by a few bytes).
        let (fullRead, incrementalRead) = (bytesRead(full.stdout), bytesRead(incremental.stdout))
        #expect(fullRead > 0 && abs(incrementalRead * 2 - fullRead) < 64, "\(full.stdout)\n\(incremental.stdout)")
        let verify = try cli.run(["backup", "verify", shm])
        #expect(
            verify.status == 0 && verify.stdout.components(separatedBy: ": ok").count == 3,
            "\(verify.stdout)\(verify.stderr)")
    }

    /// The chunks (blob digests) the manifest of `run` lists after its `database` line.
    func snapshotChunks(_ runDirectory: String) throws -> [String] {
        let lines = try String(contentsOfFile: runDirectory + "/manifest", encoding: .utf8).split(separator: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix("database\t") })
        return lines[(start + 1)...].prefix { $0.hasPrefix("chunk\t") }.map { String($0.split(separator: "\t")[1]) }
    }

    func runs(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasPrefix("20") && !$0.hasSuffix(".partial")
        }.sorted()
    }

    func bytesWritten(_ output: String) -> Int {
        Int(output.firstMatch(of: /(\d+) written/).map { String($0.1) } ?? "") ?? -1
    }

    /// The snapshot is a page-for-page copy stored as page-aligned chunks: a second run after a
    /// few new deposits writes only the chunks that changed; a flipped byte in a chunk and a
    /// missing chunk are refused; restore puts the database together row for row, and SQLite
    /// finds it sound (`PRAGMA integrity_check`). A backup of the earlier format (version 1,
    /// snapshot whole in the run directory, entries in the manifest) is still verified and
    /// restored.
    @Test func chunkedSnapshotIsSharedCheckedAndRestored() throws {
        let cli = try prepared(deposits: 3)
        // 4 MB of rows in a table after all others: the deposits below move all of its pages.
        let filler = try Subprocess.shell(
            "sqlite3 var/mailvox.sqlite \"CREATE TABLE filler(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                + "SELECT i + 1 FROM c WHERE i < 8000) INSERT INTO filler SELECT randomblob(500) FROM c;\"",
            in: cli.directory)
        #expect(filler.succeeded, "\(filler.stderr)")
        let full = try cli.run(["backup", "--to", "backups"])
        #expect(full.status == 0, "\(full.stderr)")
        try deposit(cli, 2)
        let incremental = try cli.run(["backup", "--to", "backups", "--incremental"])
        #expect(incremental.status == 0, "\(incremental.stderr)")
        let (fullWritten, incrementalWritten) = (bytesWritten(full.stdout), bytesWritten(incremental.stdout))
        #expect(fullWritten > 4_000_000, "\(full.stdout)")
        #expect(
            incrementalWritten > 0 && incrementalWritten * 8 < fullWritten, "\(full.stdout)\n\(incremental.stdout)")
        let runs = try runs(cli.directory + "/backups")
        #expect(runs.count == 2)
        let first = try snapshotChunks(cli.directory + "/backups/" + runs[0])
        let second = try snapshotChunks(cli.directory + "/backups/" + runs[1])
        #expect(first.count > 20, "4 MB in chunks of about 64 KiB")
        #expect(Set(second).subtracting(first).count * 5 < second.count, "most chunks shared: \(first) \(second)")
        let pageSize = try Subprocess.shell("sqlite3 var/mailvox.sqlite 'PRAGMA page_size'", in: cli.directory)
        let page = try #require(Int(pageSize.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        for chunk in second {
            let size = try #require(
                try FileManager.default.attributesOfItem(
                    atPath: cli.directory + "/backups/blobs/\(chunk.prefix(2))/\(chunk)")[.size] as? Int)
            #expect(size % page == 0, "chunk \(chunk) of \(size) bytes is not whole pages of \(page)")
        }
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/backups/\(runs[1])/mailvox.sqlite"))
        let manifest = try String(contentsOfFile: cli.directory + "/backups/\(runs[1])/manifest", encoding: .utf8)
        #expect(manifest.hasPrefix("mailvox-backup\t2\n") && !manifest.contains("\nfile\t"), "\(manifest)")
        let verify = try cli.run(["backup", "verify", "backups"])
        #expect(verify.status == 0 && verify.stdout.contains(": ok, 5 files"), "\(verify.stdout)\(verify.stderr)")

        // Restored: the same rows as the data dir (the deposits' and the filler's).
        let restore = try cli.run(["restore", "--from", "backups", "--data-dir", "restored"])
        #expect(restore.status == 0, "\(restore.stderr)")
        func digest(_ database: String, _ table: String) throws -> String {
            try Subprocess.shell("sqlite3 \(database) '.sha3sum \(table)'", in: cli.directory).stdout
        }
        func integrity(_ database: String) throws -> String {
            try Subprocess.shell("sqlite3 \(database) 'PRAGMA integrity_check'", in: cli.directory).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try integrity("restored/mailvox.sqlite") == "ok")
        for table in ["filler", "deposit", "mailbox", "folder"] {
            let original = try digest("var/mailvox.sqlite", table)
            let restored = try digest("restored/mailvox.sqlite", table)
            #expect(!original.isEmpty && original == restored, "\(table)")
        }

        // A flipped byte in a chunk of the snapshot, and a chunk missing: refused, nothing written.
        for (name, change) in [
            ("flipped", { (path: String) in try rewrite(path) { $0[$0.count / 2] ^= 0x01 } }),
            ("missing", { (path: String) in _ = unlink(path) }),
        ] as [(String, (String) throws -> Void)] {
            #expect(try Subprocess.shell("cp -a backups \(name)", in: cli.directory).succeeded)
            let chunk = second[second.count / 2]
            try change(cli.directory + "/\(name)/blobs/\(chunk.prefix(2))/\(chunk)")
            let verify = try cli.run(["backup", "verify", name, "--backup", runs[1]])
            #expect(verify.status == 1, "\(name): \(verify.stdout)")
            let expected = name == "flipped" ? "content differs from its SHA-256" : "missing"
            #expect(verify.stderr.contains("database snapshot, chunk"), "\(verify.stderr)")
            #expect(verify.stderr.contains(expected), "\(verify.stderr)")
            let restore = try cli.run(["restore", "--from", name, "--data-dir", "restored-\(name)"])
            #expect(restore.status == 1 && restore.stderr.contains("nothing was written"), "\(restore.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.directory + "/restored-\(name)"))
        }

        // The earlier format, made from the newest run by hand: still verified and restored.
        let v1 = "v1/" + runs[1]
        let script = """
            set -e
            mkdir -p v1 && cp -al backups/blobs v1/blobs && cp -a backups/\(runs[1]) \(v1)
            chunks() { awk -F'\\t' -v s="$1" '$1==s {on=1; next} $1!="chunk" {on=0} on {print $2}' \(v1)/manifest; }
            for d in $(chunks database); do cat backups/blobs/$(echo $d | cut -c1-2)/$d; done > \(v1)/mailvox.sqlite
            for d in $(chunks entries); do cat backups/blobs/$(echo $d | cut -c1-2)/$d; done > entries.txt
            size=$(stat -c %s \(v1)/mailvox.sqlite); sum=$(sha256sum \(v1)/mailvox.sqlite | cut -d' ' -f1)
            { printf 'mailvox-backup\\t1\\n'
              grep -E '^(created|kind|data_dir|hostname|master_key_ids|config)\t' \(v1)/manifest
              printf 'database\\t%s\\t%s\\tmailvox.sqlite\\n' $sum $size
              cat entries.txt; grep '^end' \(v1)/manifest; } > manifest.v1
            rm \(v1)/manifest && mv manifest.v1 \(v1)/manifest
            (cd \(v1) && echo "$(sha256sum manifest | cut -d' ' -f1)  manifest" > manifest.sha256)
            """
        let made = try Subprocess.shell(script, in: cli.directory)
        #expect(made.succeeded, "\(made.stdout)\(made.stderr)")
        let verifyV1 = try cli.run(["backup", "verify", "v1"])
        #expect(
            verifyV1.status == 0 && verifyV1.stdout.contains(": ok, 5 files"), "\(verifyV1.stdout)\(verifyV1.stderr)")
        let restoreV1 = try cli.run(["restore", "--from", "v1", "--data-dir", "restored-v1"])
        #expect(restoreV1.status == 0, "\(restoreV1.stderr)")
        let (original, restoredV1) = (
            try digest("var/mailvox.sqlite", "filler"), try digest("restored-v1/mailvox.sqlite", "filler")
        )
        #expect(original == restoredV1)
        #expect(try integrity("restored-v1/mailvox.sqlite") == "ok")
    }

    @Test func doctorWarnsUntilABackupSucceeds() throws {
        let cli = try prepared(deposits: 1)
        let before = try cli.run(["doctor"]).stdout
        #expect(before.contains("warn  backup") && before.contains("no successful backup"), "\(before)")
        #expect(try cli.run(["backup", "--to", "backups"]).status == 0)
        let after = try cli.run(["doctor"]).stdout
        #expect(after.contains("ok    backup") && after.contains("last successful backup"), "\(after)")
        var off = cli
        off.environment["MAILVOX_BACKUP_WARN_AFTER_DAYS"] = "0"
        #expect(!(try off.run(["doctor"]).stdout.contains("successful backup")), "warn_after_days = 0 checks nothing")
    }

    /// Backup while 200 deposits arrive over HTTPS and IMAP clients COPY, STORE and EXPUNGE;
    /// restore, serve, compare; a backup killed with SIGKILL leaves nothing `verify` accepts.
    @Test func onlineBackupUnderLoadAndKilledBackups() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-backup-\(UUID().uuidString)")
        let result = try Subprocess.run(
            Subprocess.python, [Self.onlineScript, "--binary", CLI.binary, "--work", work.path, "--deposits", "200"])
        #expect(result.status == 0 && result.stdout.contains("PASS"), "\(result.stdout)\(result.stderr)")
        if result.status == 0 { try? FileManager.default.removeItem(at: work) }
    }
}
