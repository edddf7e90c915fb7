import Foundation
import GRDB
import MailvoxCore
import MailvoxStore
import Testing

@Suite struct ExportTests {
    /// Python's `mailbox.Maildir`, a reader nobody here wrote, sees our folders, flags and bytes,
    /// whichever backend held them (an export is the way out of a bucket too).
    @Test(arguments: Backend.allCases) func anIndependentMaildirReaderSeesEveryMessageAndFlag(_ backend: Backend) throws
    {
        let fixture = try StoreFixture(backend)
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
        #expect(throws: MailStoreError.self) { try fixture.store.export(mailbox: fixture.mailbox, to: target) }
    }

    /// Python's `mailbox.Maildir` view of `path`: folder name → subjects.
    static func pythonView(_ path: String) throws -> [String: [String]] {
        let script = """
            import mailbox, sys, json
            box = mailbox.Maildir(sys.argv[1], create=False)
            out = {"INBOX": [box[k]["Subject"] for k in box.keys()]}
            for name in box.list_folders():
                folder = box.get_folder(name)
                out[name] = [folder[k]["Subject"] for k in folder.keys()]
            print(json.dumps(out, sort_keys=True))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String]])
    }

    /// Adds a folder the way an old database may hold it, past today's name rules.
    static func insertFolder(_ fixture: StoreFixture, _ name: String) throws {
        try fixture.directoryFixture.database.write { db in
            try db.execute(
                sql: "INSERT INTO folder (mailbox_id, name, uid_validity, created_at) VALUES (?, ?, ?, ?)",
                arguments: [fixture.mailbox.rawValue, name, Int.random(in: 1...1_000_000), Date()])
        }
    }

    /// Every path under `directory`, relative, sorted.
    static func tree(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }

    /// The probe's finding: a folder named `.` exported as Maildir++ folder `..`, i.e. into the
    /// export's parent. Each level is escaped now, and nothing lands outside the export.
    @Test func dotAndEmptyFolderLevelsStayInsideTheExport() throws {
        let fixture = try StoreFixture()
        for name in [".", "..", "../../escape", "a/../..", "x//y", "/lead", "50%.off"] {
            try Self.insertFolder(fixture, name)
        }
        try fixture.store.deliver(mailbox: fixture.mailbox, folder: ".", message: StoreFixture.message(subject: "dot"))
        try fixture.store.deliver(
            mailbox: fixture.mailbox, folder: "../../escape", message: StoreFixture.message(subject: "escape"))
        let outside = fixture.root + "/out"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let target = outside + "/export"
        #expect(try fixture.store.export(mailbox: fixture.mailbox, to: target) == 2)

        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["export"], "written beside the export")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/escape"))
        let folders = try FileManager.default.contentsOfDirectory(atPath: target).filter { $0.hasPrefix(".") }
        #expect(
            Set(folders) == [
                ".%2E", ".%2E%2E", ".%2E%2E.%2E%2E.escape", ".a.%2E%2E.%2E%2E", ".x.%.y", ".%.lead", ".50%25%2Eoff",
                ".Greetings", ".Saved", ".Trash", ".Recently Deleted",
            ])
        let view = try Self.pythonView(target)
        #expect(view["%2E"] == ["dot"])
        #expect(view["%2E%2E.%2E%2E.escape"] == ["escape"])
        #expect(view["INBOX"] == [])
    }

    /// Decrypted mail must not be readable by others: directories 0700, files 0600.
    @Test func theExportIsPrivateToItsOwner() throws {
        let fixture = try StoreFixture()
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Saved", message: StoreFixture.message())
        let target = fixture.root + "/export"
        try fixture.store.export(mailbox: fixture.mailbox, to: target)
        var info = stat()
        #expect(stat(target, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let entries = Self.tree(target)
        #expect(entries.count > 10)
        for entry in entries {
            #expect(lstat(target + "/" + entry, &info) == 0)
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            #expect(
                info.st_mode & 0o777 == (isDirectory ? 0o700 : 0o600),
                "\(entry) is \(String(info.st_mode & 0o777, radix: 8))")
        }
    }

    /// The probe's finding: a folder name too long for one file name (300 levels) stopped the
    /// export half-way, leaving INBOX written. Now nothing is written at all.
    @Test func aFolderTooLongForAFileNameStopsTheExportBeforeAnything() throws {
        let fixture = try StoreFixture()
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        try Self.insertFolder(fixture, Array(repeating: "a", count: 300).joined(separator: "/"))
        let outside = fixture.root + "/out"
        let target = outside + "/export"
        #expect(throws: MailStoreError.self) { try fixture.store.export(mailbox: fixture.mailbox, to: target) }
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(Self.tree(outside) == [])
    }

    /// A failure half-way (a message file gone from the spool) leaves nothing behind either:
    /// the staging directory beside the target is removed.
    @Test func aFailureHalfWayLeavesNothing() throws {
        let fixture = try StoreFixture()
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        let before = Set(fixture.files())
        try fixture.store.deliver(mailbox: fixture.mailbox, folder: "Trash", message: StoreFixture.message())
        for path in Set(fixture.files()).subtracting(before) where path.contains("/spool/") { unlink(path) }
        let outside = fixture.root + "/out"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        #expect(throws: (any Error).self) {
            try fixture.store.export(mailbox: fixture.mailbox, to: outside + "/export")
        }
        #expect(Self.tree(outside) == [])
    }

    /// `mailvox export` cancels the export's task on Ctrl-C: it stops and removes what it wrote.
    @Test func aCancelledExportLeavesNothing() async throws {
        let fixture = try StoreFixture()
        try fixture.store.deliver(mailbox: fixture.mailbox, message: StoreFixture.message())
        let outside = fixture.root + "/out"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let store = fixture.store
        let mailbox = fixture.mailbox
        let task = Task { () throws -> Int in
            withUnsafeCurrentTask { $0?.cancel() }
            return try store.export(mailbox: mailbox, to: outside + "/export")
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(Self.tree(outside) == [])
    }
}
