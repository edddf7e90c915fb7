import MailvoxCore

/// Copies one table's rows from one database to another through the SQL seam, and checks that
/// the copy holds every row of the original: the machinery of `mailvox migrate`, which moves an
/// installation between SQLite and PostgreSQL in either direction.
///
/// Rows are read in key order, a batch at a time (`WHERE key > last ORDER BY key LIMIT n`, so a
/// table of ten million rows is never one result), and written with `ON CONFLICT DO NOTHING`, so
/// a run cut short is simply run again: rows already copied are skipped. Columns are the ones
/// both tables have, named explicitly (an `ALTER TABLE … ADD COLUMN` puts a column last on one
/// backend and in the middle of the collapsed schema on the other).
public struct TableTransfer: Sendable {
    public let table: String
    /// The primary key's columns, in order.
    public let key: [String]
    public let batchSize: Int

    public init(table: String, key: [String], batchSize: Int = 250) {
        precondition(!key.isEmpty, "a transferred table needs a key to page by")
        self.table = table
        self.key = key
        self.batchSize = batchSize
    }

    /// The columns of `table` in `database`, in declaration order.
    public static func columns(of table: String, in database: any SQLDatabase) throws -> [String] {
        try database.read { db in
            switch db.dialect {
            case .sqlite:
                try db.rows("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(table)]).map {
                    try $0.get("name")
                }
            case .postgres:
                try db.rows(
                    """
                    SELECT column_name::text AS name FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position
                    """, [.text(table)]
                ).map { try $0.get("name") }
            }
        }
    }

    /// How many rows `table` holds in `database`.
    public func count(in database: any SQLDatabase) throws -> Int {
        try database.read { db in
            Int(try db.one("SELECT COUNT(*) AS n FROM \(table)")?.get("n", as: Int64.self) ?? 0)
        }
    }

    /// The columns both sides have; throws when the target lacks one the source fills, since
    /// dropping it would lose data.
    public func sharedColumns(from source: any SQLDatabase, to target: any SQLDatabase) throws -> [String] {
        let theirs = try Self.columns(of: table, in: source)
        let ours = Set(try Self.columns(of: table, in: target))
        guard !theirs.isEmpty else { throw TransferError.noSuchTable(table) }
        if let missing = theirs.first(where: { !ours.contains($0) }) {
            throw TransferError.missingColumn(table: table, column: missing)
        }
        return theirs
    }

    /// Each batch of the source's rows, in key order; `body` sees the rows of one batch.
    public func forEachBatch(
        in database: any SQLDatabase, columns: [String], _ body: ([SQLRow]) throws -> Void
    ) throws {
        let list = selectList(columns)
        let order = key.joined(separator: ", ")
        var last: [SQLValue]?
        while true {
            let rows = try database.read { db -> [SQLRow] in
                if let last {
                    // Row values compare lexicographically on both servers, which pages a
                    // composite key without OFFSET.
                    let after = key.count == 1 ? "\(key[0]) > ?" : "(\(order)) > (\(placeholders(key.count)))"
                    return try db.rows(
                        "SELECT \(list) FROM \(table) WHERE \(after) ORDER BY \(order) LIMIT \(batchSize)", last)
                }
                return try db.rows("SELECT \(list) FROM \(table) ORDER BY \(order) LIMIT \(batchSize)")
            }
            guard let final = rows.last else { return }
            try body(rows)
            last = key.map { final[$0] }
            if rows.count < batchSize { return }
        }
    }

    /// Writes `rows` into the target in one transaction, skipping those whose key (or another
    /// unique constraint) is there already; returns how many were new.
    @discardableResult
    public func insert(_ rows: [SQLRow], columns: [String], into database: any SQLDatabase) throws -> Int {
        guard !rows.isEmpty else { return 0 }
        let tuple = "(\(placeholders(columns.count)))"
        let sql = """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \
            \(Array(repeating: tuple, count: rows.count).joined(separator: ", ")) ON CONFLICT DO NOTHING
            """
        let arguments = rows.flatMap { row in columns.map { row[$0] } }
        return try database.write { db in try db.execute(sql, arguments) }
    }

    /// The target's rows with the keys of `rows`, by key.
    public func matching(
        _ rows: [SQLRow], columns: [String], in database: any SQLDatabase
    ) throws -> [[SQLValue]: SQLRow] {
        guard !rows.isEmpty else { return [:] }
        let list = selectList(columns)
        let condition =
            key.count == 1
            ? "\(key[0]) IN (\(placeholders(rows.count)))"
            : "(\(key.joined(separator: ", "))) IN (VALUES \(Array(repeating: "(\(placeholders(key.count)))", count: rows.count).joined(separator: ", ")))"
        let found = try database.read { db in
            try db.rows("SELECT \(list) FROM \(table) WHERE \(condition)", rows.flatMap { row in key.map { row[$0] } })
        }
        var byKey: [[SQLValue]: SQLRow] = [:]
        for row in found { byKey[key.map { row[$0] }] = row }
        return byKey
    }

    /// `columns` and then the key's columns not among them: every row read can be matched by key.
    private func selectList(_ columns: [String]) -> String {
        (columns + key.filter { !columns.contains($0) }).joined(separator: ", ")
    }

    /// The target's row for the source's `row` in `found`: the one with the same key, else the
    /// one whose key differs only in case (PostgreSQL's `citext` mailbox ids match SQLite's
    /// `NOCASE` ones either way, and one server may hand back the other's spelling).
    func counterpart(of row: SQLRow, in found: [[SQLValue]: SQLRow]) -> SQLRow? {
        let exact = key.map { row[$0] }
        if let match = found[exact] { return match }
        let folded = exact.map(Self.folded)
        return found.first { $0.key.map(Self.folded) == folded }?.value
    }

    private static func folded(_ value: SQLValue) -> SQLValue {
        if case .text(let text) = value { return .text(text.lowercased()) }
        return value
    }

    /// Compares every source row with the target's row of the same key; returns a description
    /// of each difference (at most `limit`), empty when the target holds the source's rows.
    public func verify(
        from source: any SQLDatabase, to target: any SQLDatabase, columns: [String], limit: Int = 20,
        progress: (Int) -> Void = { _ in }
    ) throws -> [String] {
        var problems: [String] = []
        try forEachBatch(in: source, columns: columns) { rows in
            let theirs = try matching(rows, columns: columns, in: target)
            for row in rows where problems.count < limit {
                let id = key.map { Self.shown(row[$0]) }.joined(separator: ", ")
                guard let copy = counterpart(of: row, in: theirs) else {
                    problems.append("\(table) (\(id)): missing from the target")
                    continue
                }
                if let column = columns.first(where: { !Self.same(row[$0], copy[$0]) }) {
                    problems.append("\(table) (\(id)): \(column) differs")
                }
            }
            progress(rows.count)
        }
        return problems
    }

    /// A key value as a problem line shows it.
    public static func shown(_ value: SQLValue) -> String {
        switch value {
        case .integer(let number): "\(number)"
        case .real(let number): "\(number)"
        case .text(let text): text
        case .null, .blob: value.typeName
        }
    }

    /// Equal values, where a whole number may arrive as INTEGER from one server and REAL from
    /// the other.
    static func same(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .real(let y)), (.real(let y), .integer(let x)): Double(x) == y
        default: a == b
        }
    }

    // MARK: - Identity counters

    /// The next value `table`'s `id` counter would give, at least one more than the largest id:
    /// SQLite's `sqlite_sequence` (AUTOINCREMENT, never reused), PostgreSQL's identity sequence.
    public func nextID(in database: any SQLDatabase) throws -> Int64 {
        try database.read { db in
            let largest = try db.one("SELECT MAX(id) AS n FROM \(table)")?.optional("n", as: Int64.self) ?? 0
            let counter: Int64?
            switch db.dialect {
            case .sqlite:
                let hasSequence = try db.one("SELECT 1 AS x FROM sqlite_master WHERE name = 'sqlite_sequence'") != nil
                counter =
                    hasSequence
                    ? try db.one("SELECT seq FROM sqlite_sequence WHERE name = ?", [.text(table)])?.optional("seq")
                    : nil
            case .postgres:
                counter = try db.one(
                    "SELECT pg_sequence_last_value(pg_get_serial_sequence(?, 'id')::regclass) AS n", [.text(table)]
                )?.optional("n")
            }
            return max(largest, counter ?? 0) + 1
        }
    }

    /// Moves the target's `id` counter so its next id is at least `next`: ids the source gave
    /// once are never given again by the target.
    public func raiseNextID(to next: Int64, in database: any SQLDatabase) throws {
        guard next > 1 else { return }
        try database.write { db in
            switch db.dialect {
            case .sqlite:
                // The row exists once the table had an AUTOINCREMENT insert; otherwise add it.
                let changed = try db.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?",
                    [.integer(next - 1), .text(table), .integer(next - 1)])
                if changed == 0, try db.one("SELECT 1 AS x FROM sqlite_sequence WHERE name = ?", [.text(table)]) == nil
                {
                    try db.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", [.text(table), .integer(next - 1)])
                }
            case .postgres:
                try db.execute(
                    """
                    SELECT setval(pg_get_serial_sequence(?, 'id')::regclass,
                        GREATEST(?::bigint, COALESCE(pg_sequence_last_value(pg_get_serial_sequence(?, 'id')::regclass), 0)))
                    """, [.text(table), .integer(next - 1), .text(table)])
            }
        }
    }
}

public enum TransferError: MailvoxFailure, Equatable {
    case noSuchTable(String)
    case missingColumn(table: String, column: String)

    public var kind: FailureKind { .runtime }

    public var description: String {
        switch self {
        case .noSuchTable(let table): "the source has no table \(table)"
        case .missingColumn(let table, let column):
            "the target's \(table) has no column \(column): is it the same Mailvox version?"
        }
    }
}
