import Foundation
import MailvoxDatabase
import MailvoxPostgres
import Testing

/// The seam behaves the same on both drivers: values round-trip, a throwing write rolls back,
/// counts of changed rows, typed reads that name the column.
@Suite struct SQLSeamTests {
    static func database(_ backend: Backend) throws -> any SQLDatabase {
        let database = try QueueFixture(backend).database
        let create =
            backend == .postgres
            ? "CREATE TABLE seam (k TEXT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA)"
            : "CREATE TABLE seam (k TEXT PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB)"
        try database.write { db in try db.execute(create) }
        return database
    }

    @Test(arguments: Backend.allCases) func valuesRoundTrip(_ backend: Backend) throws {
        let database = try Self.database(backend)
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0x3F]
        let inserted = try database.write { db in
            try db.execute(
                "INSERT INTO seam (k, i, r, t, b) VALUES (?, ?, ?, ?, ?), ('literal?', NULL, NULL, 'it''s ?', NULL)",
                ["a", .integer(Int64.min), .real(-0.25), .text("Grüße ☎ ?"), .blob(bytes)])
        }
        #expect(inserted == 2)
        let row = try #require(try database.read { db in try db.one("SELECT * FROM seam WHERE k = ?", ["a"]) })
        #expect(try row.get("i", as: Int64.self) == Int64.min)
        #expect(try row.get("r", as: Double.self) == -0.25)
        #expect(try row.get("t", as: String.self) == "Grüße ☎ ?")
        #expect(try row.get("b", as: Data.self) == Data(bytes))
        let literal = try #require(try database.read { db in try db.one("SELECT * FROM seam WHERE k = 'literal?'") })
        #expect(try literal.optional("i", as: Int64.self) == nil)
        #expect(try literal.get("t", as: String.self) == "it's ?")
        #expect(throws: SQLError.unexpectedNull(column: "i")) { try literal.get("i", as: Int64.self) }
        #expect(throws: SQLError.typeMismatch(column: "t", expected: "Int64", found: "TEXT")) {
            try literal.get("t", as: Int64.self)
        }
        #expect(throws: SQLError.noSuchColumn("nope")) { try literal.get("nope", as: Int64.self) }
        let returned = try database.write { db in
            try db.rows("UPDATE seam SET i = i + 1 WHERE k = ? RETURNING i", ["a"])
        }
        #expect(try returned.map { try $0.get("i", as: Int64.self) } == [Int64.min + 1])
    }

    struct Abort: Error {}

    @Test(arguments: Backend.allCases) func aThrowingWriteRollsBack(_ backend: Backend) throws {
        let database = try Self.database(backend)
        #expect(throws: Abort.self) {
            try database.write { db in
                try db.execute("INSERT INTO seam (k) VALUES (?)", ["gone"])
                throw Abort()
            }
        }
        #expect(try database.read { db in try db.rows("SELECT k FROM seam") }.isEmpty)
        // The connection is fine afterwards, and a conflict is ignored where asked.
        let changed = try database.write { db in
            (
                try db.execute("INSERT INTO seam (k) VALUES (?)", ["kept"]),
                try db.execute("INSERT INTO seam (k) VALUES (?) ON CONFLICT DO NOTHING", ["kept"])
            )
        }
        #expect(changed == (1, 0))
        #expect(try database.read { db in try db.rows("SELECT k FROM seam") }.count == 1)
    }

    @Test func aPlaceholderCountMismatchIsNamed() throws {
        let database = try Self.database(.postgres)
        #expect(throws: SQLError.argumentCount(expected: 2, given: 1)) {
            try database.read { db in try db.rows("SELECT ? , ?", [1]) }
        }
    }
}
