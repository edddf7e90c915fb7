import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox migrate` as an operator runs it (docs/SCALE-OUT.md, "Moving between backends"): an
/// embedded installation with delivered, flagged voicemails and deposits still queued goes into
/// a real PostgreSQL and bucket, is served from there, and comes back into an embedded data dir;
/// a run cut short is finished by running it again, and the verify pass finds what differs.
@Suite(.serialized) struct MigrateCLITests {
    /// Appends the shared backends to `node`'s config (made by `init`), with the first data
    /// dir's master key.
    private func sharedBackends(_ cli: CLI, node: String, database: String) async throws {
        let postgres = try PostgresServer.shared
        let bucket = try await TestBuckets.fresh()
        for (file, secret) in [("access.key", bucket.accessKey), ("secret.key", bucket.secretKey)] {
            try Data(secret.utf8).write(to: URL(fileURLWithPath: "\(cli.directory)/\(node)/\(file)"))
            chmod("\(cli.directory)/\(node)/\(file)", 0o600)
        }
        let config = "\(cli.directory)/\(node)/mailvox.toml"
        let text =
            try String(contentsOfFile: config, encoding: .utf8)
                + """

                [crypto]
                master_key_file = "../var/keys/master.key"

                [storage]
                backend = "postgres"

                [postgres]
                url = "\(postgres.url(database: database))"

                [blobs]
                backend = "s3"
                endpoint = "\(bucket.endpoint)"
                bucket = "\(bucket.bucket)"
                path_style = true
                access_key_file = "access.key"
                secret_key_file = "secret.key"

                """
        try Data(text.utf8).write(to: URL(fileURLWithPath: config))
    }

    /// Points `node`'s config (made by `init`) at the first data dir's master key.
    private func firstMasterKey(_ cli: CLI, node: String) throws {
        let config = "\(cli.directory)/\(node)/mailvox.toml"
        let text =
            try String(contentsOfFile: config, encoding: .utf8)
            + "\n[crypto]\nmaster_key_file = \"../var/keys/master.key\"\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: config))
    }

    private func inboxCount(_ cli: CLI, config: String) throws -> Int? {
        let shown = try cli.run(["mailbox", "show", "1000", "--json", "--config", config]).stdout
        let object = try? JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any]
        let folders = object?["folders"] as? [[String: Any]] ?? []
        return folders.first { $0["name"] as? String == "INBOX" }?["messages"] as? Int
    }

    /// Serves `config` until INBOX of 1000 holds `count` messages; then stops the server.
    private func serve(_ cli: CLI, config: String, until count: Int, log: String) throws -> Bool {
        let server = try cli.start(["serve", "--config", config], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        for _ in 0..<200 {
            if try inboxCount(cli, config: config) == count { return true }
            usleep(200_000)
        }
        return false
    }

    @Test func anInstallationGoesToPostgresAndS3AndComesBack() async throws {
        var cli = try CLI()
        let port = IMAPServeTests.freePort()
        cli.environment["MAILVOX_IMAP_LISTEN_TLS"] = "127.0.0.1:\(port)"
        try #require(try cli.run(["init", "--data-dir", "var"]).status == 0)
        for (id, password) in [("1000", "front-desk-pw-1"), ("1001", "sales-pw-1")] {
            try #require(
                try cli.run(["mailbox", "add", id, "--name", "Mailbox \(id)", "--password-stdin"], stdin: password)
                    .status == 0)
        }
        #expect(try cli.run(["mailbox", "member", "add", "1001", "1000", "--rights", "lrs"]).status == 0)
        let speech = try Subprocess.shell("espeak-ng 'Please call me back.' -w hello.wav", in: cli.directory)
        try #require(speech.succeeded, "\(speech.stderr)")
        func deposit(_ count: Int) throws {
            for _ in 0..<count {
                let result = try cli.run([
                    "deposit", "--mailbox", "1000", "--caller-number", "+4930123456", "hello.wav",
                ])
                #expect(result.status == 0, "\(result.stderr)")
            }
        }

        // Three voicemails delivered, one of them seen and flagged (a file in cur/ with
        // Maildir letters on this side, an object with flags in the index on the other).
        try deposit(3)
        let source = "var/mailvox.toml"
        do {
            let server = try cli.start(["serve"], log: cli.directory + "/serve.log")
            defer {
                server.terminate()
                server.waitUntilExit()
            }
            var delivered = false
            for _ in 0..<200 where !delivered {
                delivered = try inboxCount(cli, config: source) == 3
                if !delivered { usleep(200_000) }
            }
            try #require(delivered)
            let flagged = try Subprocess.run(
                "/usr/bin/curl",
                [
                    "-sS", "--cacert", "var/tls/cert.pem", "-u", "1000:front-desk-pw-1",
                    "imaps://127.0.0.1:\(port)/INBOX", "-X", "STORE 1 +FLAGS (\\Seen \\Flagged)",
                ], in: cli.directory)
            #expect(flagged.stdout.contains("FLAGS"), "\(flagged.stdout)\(flagged.stderr)")

            // Not while the source is served.
            try #require(try cli.run(["init", "--data-dir", "node"]).status == 0)
            try await sharedBackends(cli, node: "node", database: try PostgresServer.shared.createDatabase())
            let busy = try cli.run(["migrate", "--from", source, "--to", "node/mailvox.toml"])
            #expect(busy.status == 1 && busy.stderr.contains("stop it first"), "\(busy.stderr)")
        }
        // Two more wait in the queue: sealed deposits to the node key, which moves with them.
        try deposit(2)

        let forth = try cli.run(["migrate", "--from", source, "--to", "node/mailvox.toml"])
        #expect(forth.status == 0, "\(forth.stdout)\(forth.stderr)")
        #expect(forth.stdout.contains("3 messages"), "\(forth.stdout)")
        #expect(forth.stdout.contains("2 queue files"), "\(forth.stdout)")
        #expect(forth.stdout.contains("verified"), "\(forth.stdout)")

        // Run again, it copies nothing and verifies again.
        let again = try cli.run(["migrate", "--from", source, "--to", "node/mailvox.toml"])
        #expect(
            again.status == 0 && again.stdout.contains("copied 0 rows, 0 messages"), "\(again.stdout)\(again.stderr)")

        // A run cut short: the target lacks the last rows. The verify pass says so; running
        // migrate again finishes the copy.
        let database = try #require(
            (try String(contentsOfFile: cli.directory + "/node/mailvox.toml", encoding: .utf8))
                .firstMatch(of: /127\.0\.0\.1:\d+\/([a-z0-9_]+)\?/).map { String($0.1) })
        _ = try PostgresServer.shared.psql(
            "DELETE FROM message WHERE id IN (SELECT id FROM message ORDER BY id DESC LIMIT 2); DELETE FROM audit",
            database: database)
        let cut = try cli.run(["migrate", "--verify-only", "--from", source, "--to", "node/mailvox.toml"])
        #expect(cut.status == 1, "\(cut.stdout)\(cut.stderr)")
        #expect(cut.stdout.contains("missing from the target"), "\(cut.stdout)")
        let resumed = try cli.run(["migrate", "--from", source, "--to", "node/mailvox.toml"])
        #expect(resumed.status == 0 && resumed.stdout.contains("2 messages"), "\(resumed.stdout)\(resumed.stderr)")

        // Served from PostgreSQL and the bucket: the queued two are delivered after the three.
        #expect(try serve(cli, config: "node/mailvox.toml", until: 5, log: cli.directory + "/node.log"))
        let nodeCheck = try cli.run(["fsck", "--config", "node/mailvox.toml"])
        #expect(nodeCheck.status == 0 && nodeCheck.stdout.contains("checked 5 messages: clean"), "\(nodeCheck.stdout)")

        // And back into an embedded data dir, made by `init` with a key of its own that the
        // config then replaces by the installation's.
        try #require(try cli.run(["init", "--data-dir", "back"]).status == 0)
        try firstMasterKey(cli, node: "back")
        let back = try cli.run(["migrate", "--from", "node/mailvox.toml", "--to", "back/mailvox.toml"])
        #expect(back.status == 0 && back.stdout.contains("5 messages"), "\(back.stdout)\(back.stderr)")
        #expect(try inboxCount(cli, config: "back/mailvox.toml") == 5)
        let fsck = try cli.run(["fsck", "--config", "back/mailvox.toml"])
        #expect(fsck.status == 0 && fsck.stdout.contains("checked 5 messages: clean"), "\(fsck.stdout)\(fsck.stderr)")
        let seen = try Subprocess.shell("ls back/spool/1000/*/cur/", in: cli.directory)
        #expect(seen.stdout.contains(":2,FS"), "the flagged message is in cur/ with its letters: \(seen.stdout)")

        // A sealed file changed in the copy is found by the verify pass.
        let file = try #require(
            try Subprocess.shell("ls back/spool/1000/*/cur/*", in: cli.directory).stdout.split(separator: "\n").first)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/" + file))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: cli.directory + "/" + file))
        let tampered = try cli.run([
            "migrate", "--verify-only", "--from", "node/mailvox.toml", "--to", "back/mailvox.toml",
        ])
        #expect(tampered.status == 1 && tampered.stdout.contains("sealed file differs"), "\(tampered.stdout)")
    }

    @Test func targetsThatAreNotThisInstallationsAreRefused() throws {
        let cli = try CLI()
        try #require(try cli.run(["init", "--data-dir", "var"]).status == 0)
        try #require(try cli.run(["init", "--data-dir", "other"]).status == 0)
        let same = try cli.run(["migrate", "--from", "var/mailvox.toml", "--to", "var/mailvox.toml"])
        #expect(same.status == 2 && same.stderr.contains("two installations"), "\(same.stderr)")
        // `other` has a master key of its own: its copy could not be opened.
        let otherKey = try cli.run(["migrate", "--from", "var/mailvox.toml", "--to", "other/mailvox.toml"])
        #expect(otherKey.status == 2 && otherKey.stderr.contains("crypto.master_key_file"), "\(otherKey.stderr)")
        // With the right key but mailboxes of its own, it is another installation.
        try #require(
            try cli.run(
                [
                    "mailbox", "add", "2000", "--name", "Elsewhere", "--password-stdin", "--config",
                    "other/mailvox.toml",
                ],
                stdin: "elsewhere-pw-1"
            ).status == 0)
        try firstMasterKey(cli, node: "other")
        let inUse = try cli.run(["migrate", "--from", "var/mailvox.toml", "--to", "other/mailvox.toml"])
        #expect(inUse.status == 2 && inUse.stderr.contains("another installation"), "\(inUse.stderr)")
    }
}
