import Foundation
import Logging
import MailvoxCore

/// The drop folder front door (docs/DESIGN.md §3.7): a PBX writes `NAME.json` or Asterisk's
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

extension SidecarReader {
    /// Applies a `.json` sidecar to `request`; hostile input gives `PipelineError.badRequest`.
    public static func applyJSON(_ data: Data, to request: inout DepositRequest) throws {
        do {
            request.apply(try json(data))
        } catch {
            throw PipelineError.badRequest(error.description)
        }
    }

    /// Applies an Asterisk `.txt` sidecar to `request`; hostile input gives `PipelineError.badRequest`.
    public static func applyAsterisk(_ text: String, to request: inout DepositRequest) throws {
        do {
            request.apply(try asterisk(text))
        } catch {
            throw PipelineError.badRequest(error.description)
        }
    }
}

extension DepositRequest {
    /// What the sidecar gives replaces what the request had; what it omits is kept.
    mutating func apply(_ fields: SidecarFields) {
        if let mailbox = fields.mailbox { self.mailbox = mailbox }
        if let number = fields.callerNumber { callerNumber = number }
        if let name = fields.callerName { callerName = name }
        if let receivedAt = fields.receivedAt { self.receivedAt = receivedAt }
        if let urgent = fields.urgent { self.urgent = urgent }
    }
}
