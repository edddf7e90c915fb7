// StoreBench: what sealing costs the store. Delivers and fetches 100 KB and 1 MB messages
// through MessageStore (HPKE + AES-256-GCM, durable Maildir + SQLite index) and through an
// unsealed path that exists only here (the same parse, tmp → fsync → rename → fsync dir and
// the same index row in a twin table, without encryption), in the same run; then the raw AES-256-GCM rate of
// the store's own sealing against `openssl speed -evp aes-256-gcm` (the machine's limit).
import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxStore

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let root = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-storebench-\(UUID())").path
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: root) }
let database = try MailvoxDatabase.open(path: root + "/db.sqlite", migrations: [StoreMigrations.set], create: true)
let master = MasterKey.generate()
let directory = Directory(database: database, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
let mailbox = MailboxID("1000")!
try directory.addMailbox(id: mailbox, settings: MailboxSettings(name: "Bench"), password: "long-enough", master: master)
let store = MessageStore(database: database, spoolDir: root + "/spool", masterKey: master)
// The unsealed twins of the `message` and `message_meta` tables: same columns and indexes, so both paths write
// the same index pages and differ only by encryption.
try database.write { db in
    try db.execute(
        sql: """
            CREATE TABLE plain_message (
                id INTEGER PRIMARY KEY AUTOINCREMENT, folder_id INTEGER NOT NULL, uid INTEGER NOT NULL,
                modseq INTEGER NOT NULL, file_name TEXT NOT NULL, deposit_id TEXT, flags INTEGER NOT NULL DEFAULT 0,
                keywords TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL, internal_date INTEGER NOT NULL,
                in_cur BOOLEAN NOT NULL DEFAULT 0,
                UNIQUE (folder_id, uid), UNIQUE (folder_id, file_name));
            CREATE TABLE plain_message_meta (message_id INTEGER PRIMARY KEY, meta BLOB NOT NULL);
            CREATE UNIQUE INDEX plain_deposit ON plain_message(folder_id, deposit_id) WHERE deposit_id IS NOT NULL;
            CREATE TABLE plain_folder (id INTEGER PRIMARY KEY, uid_next INTEGER NOT NULL, highest_modseq INTEGER NOT NULL);
            INSERT INTO plain_folder VALUES (1, 1, 1);
            """)
}
let plainDir = root + "/plain"
for sub in ["tmp", "new"] {
    try FileManager.default.createDirectory(atPath: plainDir + "/" + sub, withIntermediateDirectories: true)
}

/// What MessageStore.deliver does, minus sealing: the same parsed metadata (in clear), the
/// same tmp → fsync → rename → fsync dir, the same row and folder counters.
func plainDeliver(_ data: Data, name: String) throws {
    let meta = try JSONEncoder().encode(MessageMetadata(message: data))
    let temporary = plainDir + "/tmp/" + name
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = data.withUnsafeBytes { write(fd, $0.baseAddress, data.count) }
    fsync(fd)
    close(fd)
    rename(temporary, plainDir + "/new/" + name)
    let dir = open(plainDir + "/new", O_RDONLY | O_DIRECTORY)
    fsync(dir)
    close(dir)
    // Cached statements, as MessageStore's delivery uses: preparing is not a cost of sealing.
    try database.write { db in
        let uid = try Int64.fetchOne(db.cachedStatement(sql: "SELECT uid_next FROM plain_folder WHERE id = 1"))!
        try db.cachedStatement(
            sql: """
                INSERT INTO plain_message (folder_id, uid, modseq, file_name, deposit_id, size, internal_date)
                VALUES (1, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [uid, uid + 1, name, name, data.count, Int64(Date().timeIntervalSince1970)])
        try db.cachedStatement(sql: "INSERT INTO plain_message_meta (message_id, meta) VALUES (?, ?)")
            .execute(arguments: [db.lastInsertedRowID, meta])
        try db.cachedStatement(
            sql: "UPDATE plain_folder SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1"
        ).execute()
    }
}

func plainRead(_ name: String) -> Data { FileManager.default.contents(atPath: plainDir + "/new/" + name)! }

/// A voice message of about `size` bytes shaped like the composer's: a text part and a
/// base64 audio attachment at 76 columns.
func voiceMessage(size: Int) -> Data {
    var audio = [UInt8](repeating: 0, count: size * 3 / 4)
    for index in audio.indices { audio[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index / 7) }
    let base64 = Data(audio).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
    let head = """
        From: "Ada Lovelace (+4930123456)" <voicemail@bench.localhost>\r
        To: <1000@bench.localhost>\r
        Subject: Voicemail from +49 30 123456 (0:42)\r
        Date: Thu, 26 Nov 2026 10:00:00 +0000\r
        Message-ID: <bench@bench.localhost>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="b"\r
        \r
        --b\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        You have a new voicemail from Ada Lovelace.\r
        --b\r
        Content-Type: audio/mpeg; name="voicemail.mp3"\r
        Content-Transfer-Encoding: base64\r
        Content-Disposition: attachment; filename="voicemail.mp3"\r
        \r

        """
    return Data((head + base64 + "\r\n--b--\r\n").utf8)
}

// STOREBENCH_PROFILE=sealed|plain|seal|hpke runs only that loop (100 KB deliveries, in-memory
// sealing, the fixed cost) for a while, so a profiler sees one path; nothing is printed.
if let mode = ProcessInfo.processInfo.environment["STOREBENCH_PROFILE"] {
    let message = voiceMessage(size: 100_000)
    let key = try KeyPairs.generate(for: .mailbox("1000"), under: master).publicKey
    let rounds = Int(ProcessInfo.processInfo.environment["STOREBENCH_PROFILE_N"] ?? "") ?? 2000
    for index in 0..<rounds {
        switch mode {
        case "sealed": try store.deliver(mailbox: mailbox, depositID: "prof-\(index)", message: message)
        case "plain": try plainDeliver(message, name: "prof-\(index)")
        case "seal": _ = try SealedFile.seal(message, owner: "mailbox:1000", recipient: key)
        case "aes": _ = try SealedFile.seal(Data(count: 8 << 20), owner: "mailbox:1000", recipient: key)
        case "read", "readcached":
            let cached = mode == "readcached"
            _ = try database.read { db in
                let sqls = [
                    "SELECT * FROM folder WHERE mailbox_id = ? AND name = ?",
                    "SELECT public_key FROM mailbox WHERE id = ?",
                    "SELECT * FROM message WHERE folder_id = ? AND deposit_id = ?",
                ]
                let args: [StatementArguments] = [["1000", "INBOX"], ["1000"], [1, "x\(index)"]]
                for (sql, arg) in zip(sqls, args) {
                    let statement = cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
                    _ = try Row.fetchOne(statement, arguments: arg)
                }
            }
        default: _ = try SealedFile.seal(Data(count: 16), owner: "mailbox:1000", recipient: key)
        }
    }
    // exit() skips the top-level defer that removes the data dir.
    try? FileManager.default.removeItem(atPath: root)
    exit(0)
}

/// CPU seconds this process has used (all threads): unlike wall time, barely moved by other
/// work on the machine or by how long the disk takes to answer an fsync.
func cpuSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

print("store: sealed (MessageStore) vs unsealed (same I/O, no encryption), same run, interleaved in blocks of 10")
print(
    "size     count  deliver sealed  deliver plain  ratio  cpu/msg sealed plain   fetch sealed   fetch plain    ratio")
for (size, count) in [(100_000, 200), (1_000_000, 40)] {
    let message = voiceMessage(size: size)
    var uids: [UInt32] = []
    // Blocks of ten, alternating: a WAL checkpoint, a busy neighbour or a slow disk spell falls
    // on both paths alike instead of on whichever ran second.
    var sealedDeliver = 0.0
    var plainDeliverTime = 0.0
    var sealedCPU = 0.0
    var plainCPU = 0.0
    for block in stride(from: 0, to: count, by: 10) {
        let indexes = block..<min(block + 10, count)
        var cpu = cpuSeconds()
        sealedDeliver += try seconds {
            for index in indexes {
                uids.append(try store.deliver(mailbox: mailbox, depositID: "s\(size)-\(index)", message: message))
            }
        }
        sealedCPU += cpuSeconds() - cpu
        cpu = cpuSeconds()
        plainDeliverTime += try seconds {
            for index in indexes { try plainDeliver(message, name: "p\(size)-\(index)") }
        }
        plainCPU += cpuSeconds() - cpu
    }
    var checksum = 0
    let sealedFetch = try seconds {
        for uid in uids { checksum &+= try store.read(mailbox: mailbox, folder: "INBOX", uid: uid).count }
    }
    let plainFetch = seconds { for index in 0..<count { checksum &+= plainRead("p\(size)-\(index)").count } }
    precondition(checksum == 2 * count * message.count)
    let megabytes = Double(count * message.count) / 1_048_576
    func rate(_ time: Double) -> String {
        String(format: "%5.0f/s %6.1f MB/s", Double(count) / time, megabytes / time)
    }
    print(
        String(format: "%-8@ %5d  ", size >= 1_000_000 ? "1 MB" : "100 KB", count) + rate(sealedDeliver) + "  "
            + rate(plainDeliverTime) + String(format: "  %.2f   ", sealedDeliver / plainDeliverTime)
            + String(format: "%5.0f µs %5.0f µs   ", sealedCPU / Double(count) * 1e6, plainCPU / Double(count) * 1e6)
            + rate(sealedFetch) + "  " + rate(plainFetch) + String(format: "  %.2f", sealedFetch / plainFetch))
}

// Where sealing time goes: HPKE per file, then the chunk loop.
let smallKey = try KeyPairs.generate(for: .mailbox("1000"), under: master).publicKey
let tiny = Data(count: 16)
let hpkeTime = try seconds {
    for _ in 0..<500 { _ = try SealedFile.seal(tiny, owner: "mailbox:1000", recipient: smallKey) }
}
print(String(format: "one sealed file's fixed cost (HPKE + header, 16-byte body): %.0f µs", hpkeTime / 500 * 1e6))

// AES-256-GCM: the store's own chunked sealing of 64 MiB in memory, against openssl's EVP.
let recipient = try KeyPairs.generate(for: .mailbox("1000"), under: master).publicKey
let big = Data(count: 64 << 20)
var sealedSize = 0
let sealTime = try seconds { sealedSize = try SealedFile.seal(big, owner: "mailbox:1000", recipient: recipient).count }
precondition(sealedSize > big.count)
let ours = Double(big.count) / 1_048_576 / sealTime
let openssl = Process()
openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
openssl.arguments = ["speed", "-evp", "aes-256-gcm", "-bytes", "65536", "-seconds", "3"]
let pipe = Pipe()
openssl.standardOutput = pipe
openssl.standardError = FileHandle.nullDevice
try openssl.run()
let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
openssl.waitUntilExit()
// The result line ends in "NNNNNN.NNk" (thousands of bytes per second).
let peer = output.split(separator: "\n").last { $0.hasPrefix("AES-256-GCM") }?.split(separator: " ").last
    .flatMap { Double($0.dropLast()) }.map { $0 * 1000 / 1_048_576 }
print(
    String(
        format: "AES-256-GCM, 64 KiB chunks: store %.0f MB/s, openssl speed %@ MB/s, ratio %@", ours,
        peer.map { String(format: "%.0f", $0) } ?? "?", peer.map { String(format: "%.2f", ours / $0) } ?? "?"))
