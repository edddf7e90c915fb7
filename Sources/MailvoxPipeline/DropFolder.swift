import Foundation
import Logging
import MailvoxCore

/// The drop folder front door (DESIGN.md §3): a PBX writes `NAME.json` or Asterisk's
/// `NAME.txt` (or nothing, inside a folder named after the mailbox), then `NAME.EXT`; once
/// the audio has its final name and has not changed for 2 s it goes through the intake. Taken
/// files are deleted (or kept in `processed/`); unusable ones go to `rejected/` with
/// `NAME.error` saying why.
public struct DropFolder: Sendable {
    let directory: String
    let keepProcessed: Bool
    let intake: Intake
    let logger: Logger
    /// How long a file must stay unchanged before it is taken.
    public static let settleSeconds = 2.0

    public init(directory: String, keepProcessed: Bool, intake: Intake, logger: Logger) {
        self.directory = directory
        self.keepProcessed = keepProcessed
        self.intake = intake
        self.logger = logger
    }

    public enum Outcome: Sendable, Equatable {
        case queued(file: String, depositID: String)
        case rejected(file: String, reason: String)
    }

    /// One pass over the folder; returns what it did.
    @discardableResult
    public func scan(now: Date = Date()) -> [Outcome] {
        var outcomes: [Outcome] = []
        for (file, folderMailbox) in candidates() {
            guard let info = Self.fileInfo(file), now.timeIntervalSince1970 - info.mtime >= Self.settleSeconds else {
                continue
            }
            let base = (file as NSString).deletingPathExtension
            let sidecars = [base + ".json", base + ".txt"].filter { FileManager.default.fileExists(atPath: $0) }
            do {
                var request = try Self.details(sidecars: sidecars, folderMailbox: folderMailbox)
                request.audio = .file(path: file)
                // The same file seen again after a crash between queueing and deleting it is
                // the same deposit, not a second one.
                request.idempotencyKey = "drop:\(file):\(info.size):\(Int(info.mtime))"
                let receipt = try intake.deposit(request)
                finish(file, sidecars: sidecars, into: keepProcessed ? "processed" : nil)
                outcomes.append(.queued(file: file, depositID: receipt.depositID))
                logger.info("drop folder: queued", metadata: ["deposit": "\(receipt.depositID)"])
            } catch let error as any MailvoxFailure where error.kind == .input {
                finish(file, sidecars: sidecars, into: "rejected", reason: error.description)
                outcomes.append(.rejected(file: file, reason: error.description))
                logger.warning("drop folder: rejected \((file as NSString).lastPathComponent)")
            } catch {
                // Disk full, database busy: leave the files for the next pass.
                logger.error("drop folder: \(error)")
            }
        }
        return outcomes
    }

    /// Audio files waiting: top level (mailbox from a sidecar) and one level of subfolders
    /// named like a mailbox id.
    func candidates() -> [(path: String, folderMailbox: String?)] {
        var found: [(String, String?)] = []
        let manager = FileManager.default
        for name in ((try? manager.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
            let path = directory + "/" + name
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                guard name != "processed", name != "rejected", MailboxID(name) != nil else { continue }
                for inner in ((try? manager.contentsOfDirectory(atPath: path)) ?? []).sorted()
                where Self.isAudioCandidate(inner) {
                    found.append((path + "/" + inner, name))
                }
            } else if Self.isAudioCandidate(name) {
                found.append((path, nil))
            }
        }
        return found
    }

    static func isAudioCandidate(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.hasPrefix(".") && !lower.hasSuffix(".tmp") && !lower.hasSuffix(".part")
            && !lower.hasSuffix(".json")
            && !lower.hasSuffix(".txt") && !lower.hasSuffix(".error")
    }

    /// The deposit's details from the sidecar (JSON first, then Asterisk), else the folder name.
    static func details(sidecars: [String], folderMailbox: String?) throws -> DepositRequest {
        var request = DepositRequest(mailbox: folderMailbox ?? "", audio: .file(path: ""))
        if let json = sidecars.first(where: { $0.hasSuffix(".json") }) {
            try SidecarReader.applyJSON(FileManager.default.contents(atPath: json) ?? Data(), to: &request)
        } else if let text = sidecars.first(where: { $0.hasSuffix(".txt") }) {
            try SidecarReader.applyAsterisk(
                String(decoding: FileManager.default.contents(atPath: text) ?? Data(), as: UTF8.self), to: &request)
        }
        guard !request.mailbox.isEmpty else {
            throw PipelineError.badRequest(
                "no mailbox: give a NAME.json or NAME.txt sidecar, or put the file in a folder named after the mailbox")
        }
        return request
    }

    private func finish(_ file: String, sidecars: [String], into folder: String?, reason: String? = nil) {
        let manager = FileManager.default
        guard let folder else {
            for path in [file] + sidecars { try? manager.removeItem(atPath: path) }
            return
        }
        let target = directory + "/" + folder
        try? manager.createDirectory(atPath: target, withIntermediateDirectories: true)
        for path in [file] + sidecars {
            let destination = target + "/" + (path as NSString).lastPathComponent
            try? manager.removeItem(atPath: destination)
            try? manager.moveItem(atPath: path, toPath: destination)
        }
        if let reason {
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            if !manager.createFile(atPath: target + "/" + name + ".error", contents: Data((reason + "\n").utf8)) {
                logger.error("drop folder: cannot write \(target)/\(name).error")
            }
        }
    }

    private static func fileInfo(_ path: String) -> (size: Int, mtime: Double)? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return (Int(info.st_size), Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }
}

/// Readers of the two sidecar formats. Hostile input gives `PipelineError.badRequest`.
public enum SidecarReader {
    /// `{"mailbox", "caller_number", "caller_name", "received_at", "urgent"}`.
    public static func applyJSON(_ data: Data, to request: inout DepositRequest) throws {
        guard data.count <= 65_536, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PipelineError.badRequest("the .json sidecar is not a JSON object")
        }
        func text(_ key: String) throws -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            if let string = value as? String { return string }
            if let number = value as? NSNumber, key == "caller_number" { return number.stringValue }
            throw PipelineError.badRequest("sidecar field \(key) must be a string")
        }
        if let mailbox = try text("mailbox") { request.mailbox = mailbox }
        request.callerNumber = try text("caller_number")
        request.callerName = try text("caller_name")
        if let received = try text("received_at") {
            guard let date = ISO8601.parse(received, defaultTimeZone: "UTC") else {
                throw PipelineError.badRequest("sidecar received_at is not an ISO 8601 date and time")
            }
            request.receivedAt = date
        }
        if let urgent = object["urgent"] {
            guard let flag = urgent as? Bool else {
                throw PipelineError.badRequest("sidecar urgent must be true or false")
            }
            request.urgent = flag
        }
    }

    /// Asterisk's `msgNNNN.txt`: `origmailbox`, `callerid` (`"Name" <number>`), `origtime`, `flag`.
    public static func applyAsterisk(_ text: String, to request: inout DepositRequest) throws {
        guard text.utf8.count <= 65_536 else { throw PipelineError.badRequest("the .txt sidecar is too large") }
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix(";"), !trimmed.hasPrefix("["), let equals = trimmed.firstIndex(of: "=") else {
                continue
            }
            values[trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] =
                trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        if let mailbox = values["origmailbox"], !mailbox.isEmpty { request.mailbox = mailbox }
        if let callerID = values["callerid"] {
            let (name, number) = parseCallerID(callerID)
            request.callerName = name
            request.callerNumber = number
        }
        if let time = values["origtime"], !time.isEmpty {
            guard let seconds = Double(time), seconds > 0, seconds < 1e11 else {
                throw PipelineError.badRequest("the .txt sidecar's origtime is not a Unix time")
            }
            request.receivedAt = Date(timeIntervalSince1970: seconds)
        }
        if values["flag"]?.lowercased().contains("urgent") == true { request.urgent = true }
    }

    /// `"Jürgen Groß" <+4930123456>`, `Name <123>`, `<123>`, `123`, `Unknown`.
    static func parseCallerID(_ text: String) -> (name: String?, number: String?) {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else {
            let bare = text.trimmingCharacters(in: .whitespaces)
            return bare.allSatisfy({ "+0123456789*#".contains($0) }) ? (nil, bare) : (bare, nil)
        }
        var name = text[..<open].trimmingCharacters(in: .whitespaces)
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        let number = text[text.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
        return (name.isEmpty ? nil : name, number.isEmpty ? nil : number)
    }
}
