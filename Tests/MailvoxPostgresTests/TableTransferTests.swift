import Foundation
import MailvoxCore
import MailvoxDatabase
import MailvoxPostgres
import MailvoxTestSupport
import Testing

/// `TableTransfer`, the row copy under `mailvox migrate`, between a real SQLite file and a real
/// PostgreSQL database, in both directions: paging by a composite key across many batches, every
/// storage class arriving intact, a second run adding nothing, the verify pass naming what
/// differs, and id counters that never give an id twice.
@Suite struct TableTransferTests {
    static let sqliteTable = """
        CREATE TABLE sample (owner TEXT NOT NULL COLLATE NOCASE, n INTEGER NOT NULL, body BLOB, score REAL,
            note TEXT, PRIMARY KEY (owner, n))
        """
    static let postgresTable = """
        CREATE EXTENSION IF NOT EXISTS citext;
        CREATE TABLE sample (owner CITEXT NOT NULL, n BIGINT NOT NULL, body BYTEA, score DOUBLE PRECISION,
            note TEXT, PRIMARY KEY (owner, n))
        """

    func sqlite(_ statements: String...) throws -> GRDBDatabase {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("transfer-\(UUID()).sqlite").path
        let database = GRDBDatabase(try MailvoxDatabase.open(path: path, migrations: [], create: true))
        try database.write { db in for statement in statements { try db.execute(statement) } }
        return database
    }

    func postgres(_ sql: String) throws -> PostgresDatabase {
        let server = try PostgresServer.shared
        let database = try PostgresDatabase(
            settings: PostgresSettings(url: server.url(database: try server.createDatabase()), poolSize: 2))
        try database.write { db in
            for statement in sql.split(separator: ";") { try db.execute(String(statement)) }
        }
        return database
    }

    /// 1,000 rows over 40 owners whose ids differ in case from how they sort, each storage class
    /// and NULL among them.
    func fill(_ database: any SQLDatabase) throws {
        try database.write { db in
            for index in 0..<1000 {
                let owner = index % 3 == 0 ? "Mailbox-\(index % 40)" : "mailbox-\(index % 40)"
                try db.execute(
                    "INSERT INTO sample (owner, n, body, score, note) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        .text(owner), .integer(Int64(index)),
                        index % 5 == 0 ? .null : .blob([UInt8](repeating: UInt8(index % 256), count: index % 17)),
                        .real(Double(index) / 8), index % 7 == 0 ? .null : .text("note ✓ \(index)"),
                    ])
            }
        }
    }

    @Test func rowsGoToPostgresAndBackIntact() throws {
        let origin = try sqlite(Self.sqliteTable)
        try fill(origin)
        let middle = try postgres(Self.postgresTable)
        defer { middle.close() }
        let back = try sqlite(Self.sqliteTable)
        let transfer = TableTransfer(table: "sample", key: ["owner", "n"], batchSize: 7)

        for (from, to) in [(origin as any SQLDatabase, middle as any SQLDatabase), (middle, back)] {
            let columns = try transfer.sharedColumns(from: from, to: to)
            #expect(columns == ["owner", "n", "body", "score", "note"])
            var batches = 0
            var inserted = 0
            try transfer.forEachBatch(in: from, columns: columns) { rows in
                batches += 1
                inserted += try transfer.insert(rows, columns: columns, into: to)
            }
            #expect(batches == 143, "1,000 rows in batches of 7")
            #expect(inserted == 1000)
            #expect(try transfer.count(in: to) == 1000)
            #expect(try transfer.verify(from: from, to: to, columns: columns) == [])
            // A second run finds everything there.
            var again = 0
            try transfer.forEachBatch(in: from, columns: columns) {
                again += try transfer.insert($0, columns: columns, into: to)
            }
            #expect(again == 0)
        }
        let first = try origin.read { try $0.rows("SELECT * FROM sample ORDER BY n") }
        let last = try back.read { try $0.rows("SELECT * FROM sample ORDER BY n") }
        #expect(first == last, "every value, NULLs and bytes included, came back as it left")
    }

    @Test func theVerifyPassNamesWhatDiffers() throws {
        let source = try sqlite(Self.sqliteTable)
        try fill(source)
        let target = try postgres(Self.postgresTable)
        defer { target.close() }
        let transfer = TableTransfer(table: "sample", key: ["owner", "n"], batchSize: 50)
        let columns = try transfer.sharedColumns(from: source, to: target)
        try transfer.forEachBatch(in: source, columns: columns) {
            _ = try transfer.insert($0, columns: columns, into: target)
        }
        try target.write { db in
            try db.execute("UPDATE sample SET note = 'changed' WHERE n = 10")
            try db.execute("DELETE FROM sample WHERE n = 11")
            try db.execute("UPDATE sample SET body = ? WHERE n = 12", [.blob([1, 2, 3])])
        }
        let problems = try transfer.verify(from: source, to: target, columns: columns)
        #expect(
            problems == [
                "sample (mailbox-10, 10): note differs",
                "sample (mailbox-11, 11): missing from the target",
                "sample (Mailbox-12, 12): body differs",
            ], "\(problems)")
    }

    @Test func aTargetWithoutAColumnTheSourceFillsIsRefused() throws {
        let source = try sqlite(Self.sqliteTable)
        let target = try sqlite("CREATE TABLE sample (owner TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (owner, n))")
        let transfer = TableTransfer(table: "sample", key: ["owner", "n"])
        #expect(throws: TransferError.missingColumn(table: "sample", column: "body")) {
            try transfer.sharedColumns(from: source, to: target)
        }
        #expect(throws: TransferError.noSuchTable("elsewhere")) {
            try TableTransfer(table: "elsewhere", key: ["id"]).sharedColumns(from: source, to: target)
        }
    }

    /// AUTOINCREMENT never gives an id twice, even the ids of deleted rows; the copy's counter
    /// must not either, in both directions.
    @Test func idCountersNeverGoBack() throws {
        let source = try sqlite(
            "CREATE TABLE counted (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL)")
        try source.write { db in
            for index in 1...10 { try db.execute("INSERT INTO counted (label) VALUES (?)", [.text("row \(index)")]) }
            try db.execute("DELETE FROM counted WHERE id > 5")
        }
        let transfer = TableTransfer(table: "counted", key: ["id"])
        #expect(try transfer.nextID(in: source) == 11)

        let target = try postgres(
            "CREATE TABLE counted (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, label TEXT NOT NULL)")
        defer { target.close() }
        let columns = try transfer.sharedColumns(from: source, to: target)
        try transfer.forEachBatch(in: source, columns: columns) {
            _ = try transfer.insert($0, columns: columns, into: target)
        }
        try transfer.raiseNextID(to: try transfer.nextID(in: source), in: target)
        let given = try target.write { db in
            try db.one("INSERT INTO counted (label) VALUES ('new') RETURNING id")?.get("id", as: Int64.self)
        }
        #expect(given == 11)
        #expect(try transfer.nextID(in: target) == 12)

        let back = try sqlite("CREATE TABLE counted (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL)")
        try transfer.forEachBatch(in: target, columns: columns) {
            _ = try transfer.insert($0, columns: columns, into: back)
        }
        try target.write { db in try db.execute("DELETE FROM counted WHERE id = 11") }
        try transfer.raiseNextID(to: 12, in: back)
        try back.write { db in try db.execute("DELETE FROM counted WHERE id = 11") }
        let again = try back.write { db in
            try db.one("INSERT INTO counted (label) VALUES ('newer') RETURNING id")?.get("id", as: Int64.self)
        }
        #expect(again == 12)
    }
}
