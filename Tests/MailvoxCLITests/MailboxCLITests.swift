import Foundation
import MailvoxTestSupport
import Testing

/// The CLI of docs/DESIGN.md §3.2 driven through the built binary.
@Suite struct InitCLITests {
    @Test func versionPrints() throws {
        let result = try CLI().run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test func initMakesEverythingAndASecondRunKeepsTheKey() throws {
        let cli = try CLI()
        let first = try cli.run(["init", "--data-dir", "var"])
        #expect(first.status == 0, "\(first.stderr)")
        let files = ["mailvox.toml", "mailvox.sqlite", "keys/master.key", "tls/cert.pem", "tls/key.pem"]
        for file in files { #expect(FileManager.default.fileExists(atPath: "\(cli.directory)/var/\(file)"), "\(file)") }
        for (file, mode) in [("keys/master.key", 0o600), ("tls/key.pem", 0o600), ("", 0o700)] {
            var info = stat()
            stat("\(cli.directory)/var/\(file)", &info)
            #expect(Int(info.st_mode & 0o777) == mode, "\(file)")
        }
        let key = try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/var/keys/master.key"))
        let certificate = try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/var/tls/cert.pem"))

        let second = try cli.run(["init", "--data-dir", "var"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("never replaced"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/var/keys/master.key")) == key)
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/var/tls/cert.pem")) == certificate)
        let config = try String(contentsOfFile: cli.directory + "/var/mailvox.toml", encoding: .utf8)
        #expect(config.contains("data_dir = \".\""))
    }

    @Test func initRefusesABadHostname() throws {
        let cli = try CLI()
        let result = try cli.run(["init", "--data-dir", "var", "--hostname", "bad host"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--hostname"))
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/var"))
    }
}

@Suite struct MailboxCLITests {
    /// A CLI with an initialised `var/`, the default config location.
    func initialised() throws -> CLI {
        let cli = try CLI()
        let result = try cli.run(["init", "--data-dir", "var"])
        #expect(result.status == 0, "\(result.stderr)")
        return cli
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func theNewUsersFirstMailbox() throws {
        let cli = try initialised()
        let add = try cli.run(
            ["mailbox", "add", "2000", "--name", "Grace Hopper", "--email", "grace@example.com", "--password-stdin"],
            stdin: "correct-horse-battery\n")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(!add.stdout.contains("correct-horse-battery"))
        let show = try cli.run(["mailbox", "show", "2000"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("Grace Hopper"))
        #expect(show.stdout.contains("grace@example.com"))
        for folder in ["INBOX", "Saved", "Trash", "Greetings"] { #expect(show.stdout.contains(folder)) }
        for secret in ["scrypt", "correct-horse", "password", "private", "key"] {
            #expect(!show.stdout.lowercased().contains(secret), "show printed \(secret)")
        }
    }

    @Test func generatedPasswordIsTheLastLineAlone() throws {
        let cli = try initialised()
        let add = try cli.run(["mailbox", "add", "1000", "--name", "Front Desk"])
        #expect(add.status == 0)
        #expect(add.lastLine.range(of: #"^[a-zA-Z2-9]{5}(-[a-zA-Z2-9]{5}){3}$"#, options: .regularExpression) != nil)
        let again = try cli.run(["mailbox", "passwd", "1000"])
        #expect(again.status == 0)
        #expect(again.lastLine != add.lastLine)
    }

    @Test func addShowSetPasswdRemoveRoundTrip() throws {
        let cli = try initialised()
        #expect(
            try cli.run(
                [
                    "mailbox", "add", "sales", "--name", "Sales Team", "--email", "a@example.com", "--email",
                    "b@example.com", "--sms", "+4930123456", "--timezone", "Europe/Berlin", "--language", "de",
                    "--no-attach-audio", "--password-stdin",
                ], stdin: "first-password"
            ).status == 0)
        var shown = try json(cli.run(["mailbox", "show", "sales", "--json"]).stdout)
        #expect(shown["name"] as? String == "Sales Team")
        #expect(shown["emails"] as? [String] == ["a@example.com", "b@example.com"])
        #expect(shown["sms"] as? [String] == ["+4930123456"])
        #expect(shown["timezone"] as? String == "Europe/Berlin")
        #expect(shown["language"] as? String == "de")
        #expect(shown["attach_audio"] as? Bool == false)
        #expect(
            (shown["folders"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == [
                "INBOX", "Saved", "Trash", "Greetings", "Recently Deleted",
            ])

        let set = try cli.run([
            "mailbox", "set", "sales", "--name", "Sales", "--email", "c@example.com", "--delete-after-email",
            "--attach-audio", "--clear-sms", "--clear-timezone",
        ])
        #expect(set.status == 0, "\(set.stderr)")
        shown = try json(cli.run(["mailbox", "show", "sales", "--json"]).stdout)
        #expect(shown["name"] as? String == "Sales")
        #expect(shown["emails"] as? [String] == ["c@example.com"])
        #expect(shown["sms"] as? [String] == [])
        #expect(shown["timezone"] is NSNull)
        #expect(shown["language"] as? String == "de")
        #expect(shown["attach_audio"] as? Bool == true)
        #expect(shown["delete_after_email"] as? Bool == true)

        #expect(
            try cli.run(["mailbox", "passwd", "sales", "--password-stdin"], stdin: "second-password\n").status == 0)

        let list = try cli.run(["mailbox", "list", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(entries.compactMap { $0["id"] as? String } == ["sales"])
        let table = try cli.run(["mailbox", "list"])
        #expect(table.stdout.hasPrefix("ID"))
        #expect(table.stdout.contains("sales"))

        let refused = try cli.run(["mailbox", "remove", "sales"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--yes"))
        #expect(try cli.run(["mailbox", "show", "sales"]).status == 0)
        let removed = try cli.run(["mailbox", "remove", "sales", "--yes"])
        #expect(removed.status == 0 && removed.stdout.contains("mailvox mailbox undelete sales"), "\(removed.stdout)")
        let gone = try cli.run(["mailbox", "show", "sales"])
        #expect(gone.status == 2)
        #expect(gone.stderr == "mailvox: unknown mailbox sales\n")
        #expect(!(try cli.run(["mailbox", "list"]).stdout.contains("sales")))
        #expect(try cli.run(["mailbox", "list", "--removed"]).stdout.contains("sales"))
        let again = try cli.run(["mailbox", "add", "sales", "--name", "Sales"])
        #expect(again.status != 0 && again.stderr.contains("mailbox undelete sales"), "\(again.stderr)")
        #expect(try cli.run(["mailbox", "undelete", "sales"]).stdout.contains("mailbox sales is back"))
        #expect(try cli.run(["mailbox", "show", "sales"]).status == 0)
        #expect(try cli.run(["mailbox", "undelete", "sales"]).status != 0)
    }

    @Test(
        arguments: [
            (["mailbox", "add", "1000", "--name", "Dup", "--password-stdin"], "already exists"),
            (["mailbox", "add", "bad/id", "--name", "X"], "mailbox id \"bad/id\""),
            (["mailbox", "add", ".x", "--name", "X"], "mailbox id"),
            (["mailbox", "add", "3000", "--name", "X", "--email", "not-an-address"], "--email"),
            (["mailbox", "add", "3000", "--name", "X", "--sms", "030123456"], "--sms"),
            (["mailbox", "add", "3000", "--name", ""], "--name"),
            (["mailbox", "add", "3000"], "--name"),
            (["mailbox", "add", "3000", "--name", "X", "--timezone", "Mars/Base"], "--timezone"),
            (["mailbox", "add", "3000", "--name", "X", "--delete-after-email"], "--delete-after-email"),
            (["mailbox", "add", "3000", "--name", "X", "--password-stdin"], "password"),
            (["mailbox", "show", "9999"], "unknown mailbox 9999"),
            (["mailbox", "set", "9999", "--name", "X"], "unknown mailbox 9999"),
            (["mailbox", "set", "1000", "--email", "a@example.com", "--clear-email"], "contradict"),
            (["mailbox", "set", "1000", "--attach-audio", "--no-attach-audio"], "contradict"),
            (["mailbox", "passwd", "9999", "--password-stdin"], "unknown mailbox 9999"),
            (["mailbox", "remove", "9999", "--yes"], "unknown mailbox 9999"),
            (["mailbox", "frobnicate"], "Unexpected argument"),
            (["token", "revoke", "nobody"], "unknown token nobody"),
        ] as [([String], String)])
    func badInputExitsTwoWithOneClearLine(_ arguments: [String], _ message: String) throws {
        let cli = try initialised()
        #expect(
            try cli.run(["mailbox", "add", "1000", "--name", "Desk", "--password-stdin"], stdin: "long-enough-1").status
                == 0)
        let result = try cli.run(arguments, stdin: "short")
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.hasPrefix("mailvox: "))
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try cli.run(["mailbox", "list", "--json"]).stdout.components(separatedBy: "\"id\"").count == 2)
    }

    @Test func passwordFromStdinNeedsNoTrailingNewline() throws {
        let cli = try initialised()
        #expect(
            try cli.run(["mailbox", "add", "1000", "--name", "A", "--password-stdin"], stdin: "no-newline-here").status
                == 0)
        #expect(try cli.run(["mailbox", "passwd", "1000", "--password-stdin"], stdin: "crlf-password\r\n").status == 0)
    }

    @Test func tokensAreShownOnceAndRevocable() throws {
        let cli = try initialised()
        let created = try cli.run(["token", "create", "--name", "pbx1"])
        #expect(created.status == 0)
        #expect(created.lastLine.hasPrefix("mvx_"))
        let list = try cli.run(["token", "list"])
        #expect(list.stdout.contains("pbx1"))
        #expect(!list.stdout.contains(created.lastLine))
        #expect(try cli.run(["token", "create", "--name", "pbx1"]).status == 2)
        #expect(try cli.run(["token", "revoke", "pbx1"]).status == 0)
        #expect(
            try cli.run(["token", "list", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]")
    }
}

@Suite struct ConfigCLITests {
    @Test func missingConfigIsAnInputError() throws {
        let result = try CLI().run(["mailbox", "list"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("var/mailvox.toml"))
        #expect(result.stderr.contains("mailvox init"))
    }

    @Test func configErrorNamesFileLineAndKey() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        let path = cli.directory + "/var/mailvox.toml"
        let text = try String(contentsOfFile: path, encoding: .utf8) + "\n[imap]\nlisten = \"nowhere\"\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try cli.run(["mailbox", "list"])
        #expect(result.status == 2)
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("listen") }! + 1
        #expect(result.stderr.hasPrefix("mailvox: \(path):\(line): imap.listen: \"nowhere\" is not host:port"))
    }

    @Test func configFromTheEnvironmentAndOverrides() throws {
        var cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "data"]).status == 0)
        cli.environment = ["MAILVOX_CONFIG": cli.directory + "/data/mailvox.toml"]
        #expect(try cli.run(["mailbox", "list"]).status == 0)
        cli.environment["MAILVOX_SERVER_WORKRS"] = "2"
        let result = try cli.run(["mailbox", "list"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("MAILVOX_SERVER_WORKRS: server.workrs: unknown key"))
    }

    @Test func aMasterKeyOthersCanReadIsRefused() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        chmod(cli.directory + "/var/keys/master.key", 0o644)
        let result = try cli.run(["mailbox", "list"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("crypto.master_key_file"))
        #expect(result.stderr.contains("chmod 600"))
    }

    @Test func aForeignMasterKeyIsRefused() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "a"]).status == 0)
        #expect(try cli.run(["init", "--data-dir", "b"]).status == 0)
        try FileManager.default.removeItem(atPath: cli.directory + "/a/keys/master.key")
        try FileManager.default.copyItem(
            atPath: cli.directory + "/b/keys/master.key", toPath: cli.directory + "/a/keys/master.key")
        let result = try cli.run(["mailbox", "list", "--config", "a/mailvox.toml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("wrapped under master key"))
        // init on that data dir must not paper over it either.
        #expect(try cli.run(["init", "--data-dir", "a"]).status == 2)
    }
}

@Suite struct ServeCLITests {
    @Test func serveHoldsTheLockSaysReadyAndStopsOnSigterm() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(
            try cli.run(["mailbox", "add", "1000", "--name", "Desk", "--password-stdin"], stdin: "long-enough-1").status
                == 0)
        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer { if server.isRunning { server.terminate() } }
        #expect(CLI.wait(for: "ready", in: log), "serve never said ready")

        let second = try cli.run(["serve"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("serve.lock"))
        let remove = try cli.run(["mailbox", "remove", "1000", "--yes", "--purge-now"])
        #expect(remove.status == 1)
        #expect(remove.stderr.contains("while `mailvox serve` runs"))
        #expect(try cli.run(["mailbox", "show", "1000"]).status == 0)

        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        #expect(CLI.wait(for: "stopped", in: log, seconds: 1))
        #expect(try cli.run(["mailbox", "remove", "1000", "--yes", "--purge-now"]).status == 0)
    }

    @Test func doctorReportsEachCheck() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        let result = try cli.run(["doctor", "--json"])
        let checks = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: String]])
        let subjects = Set(checks.compactMap { $0["subject"] })
        for subject in [
            "config", "data dir", "master key", "database", "certificate", "imap.listen", "disk", "smtp relay",
        ] {
            #expect(subjects.contains(subject), "doctor skipped \(subject)")
        }
        // The dev layout keeps the master key inside the data dir: doctor must say so.
        #expect(checks.first { $0["subject"] == "master key" }?["status"] == "warn")
        #expect(result.status == (checks.contains { $0["status"] == "fail" } ? 1 : 0))
        chmod(cli.directory + "/var/keys/master.key", 0o640)
        #expect(try cli.run(["doctor"]).status == 1)
    }
}

@Suite struct KeysCLITests {
    func keyLine(_ cli: CLI, _ name: String = "var/keys/master.key") throws -> String {
        try String(contentsOfFile: cli.directory + "/" + name, encoding: .utf8)
    }

    @Test func rotateRewrapsAndKeepsTheOldFile() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(
            try cli.run(["mailbox", "add", "1000", "--name", "Desk", "--password-stdin"], stdin: "long-enough-1").status
                == 0)
        let before = try keyLine(cli)
        let result = try cli.run(["keys", "rotate"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("re-wrapped 2 keys"))
        #expect(try keyLine(cli) != before)
        let kept = try FileManager.default.contentsOfDirectory(atPath: cli.directory + "/var/keys").filter {
            $0.hasSuffix(".old")
        }
        #expect(kept.count == 1)
        #expect(try keyLine(cli, "var/keys/" + kept[0]) == before)
        #expect(try cli.run(["mailbox", "show", "1000"]).status == 0)
        #expect(try cli.run(["fsck"]).status == 0)
    }

    /// A rotation that committed but stopped before its renames: the database names the `.new`
    /// key, which is accepted, and the next `keys rotate` finishes the job.
    @Test func aRotationCutShortAfterItsCommitIsFinished() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        #expect(try cli.run(["keys", "rotate"]).status == 0)
        let keys = cli.directory + "/var/keys/"
        let old = try #require(try FileManager.default.contentsOfDirectory(atPath: keys).first { $0.hasSuffix(".old") })
        try FileManager.default.moveItem(atPath: keys + "master.key", toPath: keys + "master.key.new")
        try FileManager.default.moveItem(atPath: keys + old, toPath: keys + "master.key")
        #expect(try cli.run(["mailbox", "list"]).status == 0)
        #expect(try cli.run(["keys", "rotate"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: keys + "master.key.new"))
        #expect(try cli.run(["mailbox", "list"]).status == 0)
    }

    /// A rotation that stopped before its commit left a `.new` nothing uses: it is ignored and replaced.
    @Test func aRotationCutShortBeforeItsCommitIsIgnored() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "other"]).status == 0)
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        try FileManager.default.copyItem(
            atPath: cli.directory + "/other/keys/master.key", toPath: cli.directory + "/var/keys/master.key.new")
        #expect(try cli.run(["mailbox", "list"]).status == 0)
        #expect(try cli.run(["keys", "rotate"]).status == 0)
        #expect(try cli.run(["mailbox", "list"]).status == 0)
    }

    @Test func rotateRefusesWhileServing() throws {
        let cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        let server = try cli.start(["serve"], log: cli.directory + "/serve.log")
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        #expect(CLI.wait(for: "ready", in: cli.directory + "/serve.log"))
        let result = try cli.run(["keys", "rotate"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("while `mailvox serve` runs"))
        #expect(try cli.run(["fsck", "--rebuild"]).status == 1)
        #expect(try cli.run(["fsck"]).status == 0)
    }
}
