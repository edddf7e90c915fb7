import Foundation
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
}
