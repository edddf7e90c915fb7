import Foundation
import MailvoxTestSupport
import Testing

/// The drop folder of docs/DESIGN.md §3.7 against a running `mailvox serve`.
@Suite struct DropFolderTests {
    @Test func sidecarsAndMailboxFoldersAreTakenAndBadFilesRejected() throws {
        var cli = try DepositCLITests().prepared()
        let drop = cli.directory + "/drop"
        try FileManager.default.createDirectory(atPath: drop + "/1000", withIntermediateDirectories: true)
        cli.environment["MAILVOX_INTAKE_DROP_DIR"] = drop
        cli.environment["MAILVOX_HTTP_LISTEN"] = ""
        let hello = cli.directory + "/hello.wav"
        let manager = FileManager.default
        // JSON sidecar first, then the audio.
        #expect(
            manager.createFile(
                atPath: drop + "/a.json",
                contents: Data(
                    #"{"mailbox": "1000", "caller_number": "+4930123456", "caller_name": "Ada", "urgent": true}"#.utf8))
        )
        try manager.copyItem(atPath: hello, toPath: drop + "/a.wav")
        // Asterisk's .txt.
        #expect(
            manager.createFile(
                atPath: drop + "/msg0001.txt",
                contents: Data(
                    "[message]\norigmailbox=1000\ncallerid=\"Grace\" <2001>\norigtime=1764146100\nflag=Urgent\n".utf8)))
        try manager.copyItem(atPath: hello, toPath: drop + "/msg0001.wav")
        // No sidecar, in the mailbox's folder.
        try manager.copyItem(atPath: hello, toPath: drop + "/1000/c.wav")
        // Still being written: ignored.
        try manager.copyItem(atPath: hello, toPath: drop + "/d.wav.part")
        // Unusable: not audio, and an unknown mailbox.
        #expect(manager.createFile(atPath: drop + "/1000/bad.wav", contents: Data("not audio".utf8)))
        #expect(manager.createFile(atPath: drop + "/e.json", contents: Data(#"{"mailbox": "9999"}"#.utf8)))
        try manager.copyItem(atPath: hello, toPath: drop + "/e.wav")

        let server = try cli.start(["serve"], log: cli.directory + "/serve.log")
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(40)
        while Date() < deadline, (try? DepositCLITests().inboxCount(cli)) != 3 { usleep(250_000) }
        #expect(try DepositCLITests().inboxCount(cli) == 3)
        for gone in ["a.wav", "a.json", "msg0001.wav", "msg0001.txt", "1000/c.wav"] {
            #expect(!manager.fileExists(atPath: drop + "/" + gone), "\(gone) was not taken")
        }
        #expect(manager.fileExists(atPath: drop + "/d.wav.part"))
        let badError = try String(contentsOfFile: drop + "/rejected/bad.error", encoding: .utf8)
        #expect(badError.contains("not an audio file"))
        let unknownError = try String(contentsOfFile: drop + "/rejected/e.error", encoding: .utf8)
        #expect(unknownError.contains("unknown mailbox 9999"))
        #expect(manager.fileExists(atPath: drop + "/rejected/e.wav"))
        #expect(manager.fileExists(atPath: drop + "/rejected/e.json"))
    }

    /// A prepared data dir with a drop folder (and `drop/1000/`), ready for `serve`.
    func dropFixture() throws -> (cli: CLI, drop: String) {
        var cli = try DepositCLITests().prepared()
        let drop = cli.directory + "/drop"
        try FileManager.default.createDirectory(atPath: drop + "/1000", withIntermediateDirectories: true)
        cli.environment["MAILVOX_INTAKE_DROP_DIR"] = drop
        cli.environment["MAILVOX_HTTP_LISTEN"] = ""
        return (cli, drop)
    }

    func waitUntil(seconds: Double = 40, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(200_000)
        }
        return condition()
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    /// The probe's finding: a symlink to a file the server can read was delivered as a
    /// voicemail. Only regular files are taken (opened with O_NOFOLLOW, checked by fstat), and
    /// only those of the server's user, root or the drop folder's owner; anything else goes to
    /// rejected/ with a reason, never followed.
    @Test func symlinksAndOtherNonRegularFilesAreRejectedNotFollowed() throws {
        let (cli, drop) = try dropFixture()
        let manager = FileManager.default
        let secret = cli.directory + "/hello.wav"  // readable by the server, and real audio
        try manager.createSymbolicLink(atPath: drop + "/1000/link.wav", withDestinationPath: secret)
        try manager.createSymbolicLink(atPath: drop + "/top.wav", withDestinationPath: secret)
        #expect(manager.createFile(atPath: drop + "/top.json", contents: Data(#"{"mailbox": "1000"}"#.utf8)))
        #expect(mkfifo(drop + "/1000/pipe.wav", 0o600) == 0)
        try manager.copyItem(atPath: secret, toPath: drop + "/1000/foreign.wav")
        #expect(chown(drop + "/1000/foreign.wav", 12345, 12345) == 0)
        // A sidecar that is a symlink is refused too (its target's text would reach rejected/).
        try manager.copyItem(atPath: secret, toPath: drop + "/side.wav")
        try manager.createSymbolicLink(
            atPath: drop + "/side.json", withDestinationPath: cli.directory + "/var/mailvox.toml")
        // The one regular file: proves the scanner ran.
        try manager.copyItem(atPath: secret, toPath: drop + "/1000/good.wav")

        let server = try cli.start(["serve"], log: cli.directory + "/serve.log")
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let rejected = drop + "/rejected"
        #expect(
            waitUntil {
                ["link", "top", "pipe", "foreign", "side"].allSatisfy {
                    manager.fileExists(atPath: "\(rejected)/\($0).error")
                }
                    && !manager.fileExists(atPath: drop + "/1000/good.wav")
            })
        usleep(1_500_000)  // a pass or two more: nothing else may arrive
        #expect(try DepositCLITests().inboxCount(cli) == 1, "a symlink was followed and delivered")
        #expect(manager.fileExists(atPath: secret), "the link's target must stay where it is")
        var info = stat()
        #expect(lstat(rejected + "/link.wav", &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(lstat(rejected + "/pipe.wav", &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        let linkError = try String(contentsOfFile: rejected + "/link.error", encoding: .utf8)
        #expect(linkError.contains("symbolic link"))
        #expect(try String(contentsOfFile: rejected + "/pipe.error", encoding: .utf8).contains("named pipe"))
        #expect(try String(contentsOfFile: rejected + "/foreign.error", encoding: .utf8).contains("owned by uid 12345"))
        #expect(try String(contentsOfFile: rejected + "/side.error", encoding: .utf8).contains("symbolic link"))
        #expect(manager.fileExists(atPath: rejected + "/side.wav"))
        #expect(manager.fileExists(atPath: rejected + "/top.json"))
    }

    /// The probe's findings: a drop file named with a newline and ANSI escapes wrote a forged
    /// line into the log; rejected files and their .error (caller number in clear) were 0644.
    @Test func rejectedFilesArePrivateAndTheirNamesCannotForgeLogLines() throws {
        let (cli, drop) = try dropFixture()
        let manager = FileManager.default
        let evil = "evil\nlevel=critical FORGED\u{1b}[2J"
        #expect(manager.createFile(atPath: drop + "/1000/" + evil + ".wav", contents: Data("not audio".utf8)))
        #expect(
            manager.createFile(
                atPath: drop + "/unknown.json",
                contents: Data(#"{"mailbox": "9999", "caller_number": "+4930123456"}"#.utf8)))
        try manager.copyItem(atPath: cli.directory + "/hello.wav", toPath: drop + "/unknown.wav")

        let log = cli.directory + "/serve.log"
        let server = try cli.start(["serve"], log: log)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let rejected = drop + "/rejected"
        #expect(
            waitUntil {
                manager.fileExists(atPath: rejected + "/" + evil + ".error")
                    && manager.fileExists(atPath: rejected + "/unknown.error")
            })
        #expect(CLI.wait(for: "rejected unknown.wav", in: log))
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("level=critical FORGED") }, "a forged log line")
        #expect(!text.contains("\u{1b}"), "a raw escape reached the log")
        #expect(text.contains(#"evil\nlevel=critical FORGED\u{1b}[2J.wav"#))

        #expect(mode(rejected) == 0o700)
        for name in ["unknown.wav", "unknown.json", "unknown.error", evil + ".wav", evil + ".error"] {
            #expect(mode(rejected + "/" + name) == 0o600, "\(name) is \(String(mode(rejected + "/" + name), radix: 8))")
        }
    }

    /// The probe's finding: a recording written in two halves 5 s apart was taken after the
    /// 2 s settle time and deleted while its writer still had it open. A file open for writing
    /// (a read lease is refused) is left alone; `*.part` and dot-files are never touched.
    @Test func aRecordingStillOpenForWritingIsNotTaken() throws {
        let (cli, drop) = try dropFixture()
        let manager = FileManager.default
        let hello = try Data(contentsOf: URL(fileURLWithPath: cli.directory + "/hello.wav"))
        try hello.write(to: URL(fileURLWithPath: drop + "/1000/first.wav"))
        try hello.write(to: URL(fileURLWithPath: drop + "/1000/.hidden.wav"))
        try hello.write(to: URL(fileURLWithPath: drop + "/1000/next.wav.part"))
        let server = try cli.start(["serve"], log: cli.directory + "/serve.log")
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        // The scanner runs: the first recording is taken.
        #expect(waitUntil { (try? DepositCLITests().inboxCount(cli)) == 1 })

        let path = drop + "/1000/half.wav"
        #expect(manager.createFile(atPath: path, contents: nil))
        let writer = try #require(FileHandle(forWritingAtPath: path))
        writer.write(hello.prefix(hello.count / 2))
        sleep(5)
        #expect(manager.fileExists(atPath: path), "taken while its writer still had it open")
        #expect(!manager.fileExists(atPath: drop + "/rejected/half.error"))
        writer.write(hello.suffix(from: hello.count / 2))
        try writer.close()

        #expect(waitUntil { (try? DepositCLITests().inboxCount(cli)) == 2 })
        #expect(!manager.fileExists(atPath: path))
        #expect(!manager.fileExists(atPath: drop + "/rejected/half.error"))
        #expect(manager.fileExists(atPath: drop + "/1000/.hidden.wav"))
        #expect(manager.fileExists(atPath: drop + "/1000/next.wav.part"))
    }
}
