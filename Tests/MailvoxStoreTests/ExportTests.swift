import Foundation
import MailvoxCore
import MailvoxStore
import Testing

@Suite struct ExportTests {
    /// Python's `mailbox.Maildir`, a reader nobody here wrote, sees our folders, flags and bytes.
    @Test func anIndependentMaildirReaderSeesEveryMessageAndFlag() throws {
        let fixture = try StoreFixture()
        let first = StoreFixture.message(subject: "first", body: "one")
        let second = StoreFixture.message(subject: "second", body: "two")
        try fixture.store.deliver(mailbox: fixture.mailbox, message: first)
        try fixture.store.storeFlags(
            mailbox: fixture.mailbox, folder: "INBOX", uids: [1], operation: .add,
            flags: MessageFlags(system: [.seen, .flagged]))
        try fixture.store.createFolder(mailbox: fixture.mailbox, name: "Clients/Acme")
        try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Clients/Acme", message: second)
        let target = fixture.root + "/export"
        #expect(try fixture.store.export(mailbox: fixture.mailbox, to: target) == 2)

        let script = """
            import mailbox, sys, json
            box = mailbox.Maildir(sys.argv[1], create=False)
            def describe(folder):
                return [[folder[k].get_flags(), folder[k]["Subject"], folder.get_bytes(k).hex()] for k in folder.keys()]
            out = {"INBOX": describe(box)}
            for name in box.list_folders():
                out[name] = describe(box.get_folder(name))
            print(json.dumps(out, sort_keys=True))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, target]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let output = try #require(
            try JSONSerialization.jsonObject(with: pipe.fileHandleForReading.readDataToEndOfFile())
                as? [String: [[String]]])
        func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
        #expect(output["INBOX"] == [["FS", "first", hex(first)]])
        #expect(output["Clients.Acme"] == [["", "second", hex(second)]])
        #expect(output["Saved"] == [])
        #expect(throws: StoreError.self) { try fixture.store.export(mailbox: fixture.mailbox, to: target) }
    }
}
