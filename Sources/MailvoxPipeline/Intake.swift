import Foundation
import MailvoxAudio
import MailvoxCore
import MailvoxCrypto
import MailvoxQueue
import MailvoxStore

/// A voicemail handed to a front door.
public struct DepositRequest: Sendable {
    public enum Audio: Sendable {
        case file(path: String)
        case bytes(Data, fileExtension: String)
    }

    public var mailbox: String
    public var audio: Audio
    public var format: RawFormat?
    public var callerNumber: String?
    public var callerName: String?
    public var receivedAt: Date?
    public var urgent: Bool
    public var idempotencyKey: String?

    public init(
        mailbox: String, audio: Audio, format: RawFormat? = nil, callerNumber: String? = nil, callerName: String? = nil,
        receivedAt: Date? = nil, urgent: Bool = false, idempotencyKey: String? = nil
    ) {
        self.mailbox = mailbox
        self.audio = audio
        self.format = format
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.receivedAt = receivedAt
        self.urgent = urgent
        self.idempotencyKey = idempotencyKey
    }
}

extension DepositRequest {
    /// How errors name the recording: its path, or "the upload".
    var audioLabel: String {
        switch audio {
        case .file(let path): path
        case .bytes: "the upload"
        }
    }
}

/// What a front door answers once the deposit is durable.
public struct DepositReceipt: Sendable, Equatable {
    public var depositID: String
    /// True when the idempotency key was seen before: the id is the first deposit's.
    public var duplicate: Bool
}

/// The one code path every front door uses (docs/DESIGN.md §1): validate, probe, seal the whole
/// deposit to the node key into `queue/`, record it with its job, and only then answer.
public struct Intake: Sendable {
    let config: Configuration
    let directory: Directory
    let queue: JobQueue
    let files: QueueFiles
    /// Called after each new deposit is recorded: `serve` wakes its deliver workers with it, so
    /// a deposit through its own doors waits for no poll.
    let accepted: @Sendable () -> Void

    /// `files` defaults to the data dir's `queue/` folder.
    public init(
        config: Configuration, directory: Directory, queue: JobQueue, files: QueueFiles? = nil,
        accepted: @escaping @Sendable () -> Void = {}
    ) {
        self.config = config
        self.directory = directory
        self.queue = queue
        self.files = files ?? QueueFiles(queueDir: config.queueDir)
        self.accepted = accepted
    }

    public func deposit(_ request: DepositRequest) throws -> DepositReceipt {
        guard let id = MailboxID(request.mailbox), try directory.mailbox(id) != nil else {
            throw PipelineError.mailboxNotFound(request.mailbox)
        }
        // A full mailbox takes no new voicemail; one accepted is always delivered, so this is
        // the only place a quota refuses it.
        let quota = try directory.quota(of: id, defaults: config.quota)
        if quota.limits.isFull(quota.usage) { throw PipelineError.mailboxFull(id.rawValue) }
        let callerNumber: String?
        switch CallerID.parseNumber(request.callerNumber) {
        case .success(let number): callerNumber = number
        case .failure(let error): throw PipelineError.badRequest(error.description)
        }
        let callerName: String?
        switch CallerID.parseName(request.callerName) {
        case .success(let name): callerName = name
        case .failure(let error): throw PipelineError.badRequest(error.description)
        }
        let audio: Data
        let fileExtension: String
        switch request.audio {
        case .file(let path):
            // Refuse an oversized file before reading it, not after.
            var info = stat()
            if stat(path, &info) == 0, Int(info.st_size) > config.http.maxBodyBytes {
                throw PipelineError.payloadTooLarge(size: Int(info.st_size), limit: config.http.maxBodyBytes)
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PipelineError.badRequest("cannot read \(path)")
            }
            audio = data
            fileExtension = (path as NSString).pathExtension.lowercased()
        case .bytes(let data, let ext):
            audio = data
            fileExtension = ext.lowercased()
        }
        guard audio.count <= config.http.maxBodyBytes else {
            throw PipelineError.payloadTooLarge(size: audio.count, limit: config.http.maxBodyBytes)
        }

        // A repeated key is answered before any work: the first deposit's id for the same
        // recording, a refusal for another one (the new recording would otherwise be lost
        // behind a success answer).
        let digest = request.idempotencyKey.map { Hashing.sha256(Data($0.utf8)) }
        let bodyDigest = Self.bodyDigest(mailbox: id, audio: audio)
        if let digest,
            let existing = try queue.existingDeposit(mailbox: id, idempotencyDigest: digest, bodyDigest: bodyDigest)
        {
            return try Self.receipt(existing, mailbox: id)
        }
        try ensureQueueDirectory()
        let free = DiskSpace.freeBytes(config.queueDir)
        if free < config.server.minFreeBytes {
            throw PipelineError.insufficientStorage(free: free, minimum: config.server.minFreeBytes)
        }

        let probePath: String
        var scratchFile: String?
        defer { if let scratchFile { unlink(scratchFile) } }
        switch request.audio {
        case .file(let path):
            probePath = path
        case .bytes:
            let scratch = try Scratch(queueDir: config.queueDir)
            let path = scratch.path("intake-\(UUID().uuidString).\(fileExtension.isEmpty ? "bin" : fileExtension)")
            guard FileManager.default.createFile(atPath: path, contents: audio, attributes: [.posixPermissions: 0o600])
            else {
                throw PipelineError.io(path: path, reason: "cannot write scratch file")
            }
            scratchFile = path
            probePath = path
        }
        let format = request.format ?? RawFormat(fileExtension: fileExtension)
        let info: AudioInfo
        do {
            info = try AudioProbe.probe(path: probePath, format: format)
        } catch {
            // Name the recording as its sender knows it, never by a scratch path.
            var named = error
            named.file = request.audioLabel
            throw PipelineError.audio(named)
        }
        if info.duration < config.audio.minSeconds {
            throw PipelineError.audio(
                AudioError(
                    .tooShort(seconds: info.duration, minimum: config.audio.minSeconds), file: request.audioLabel))
        }
        if config.audio.tooLong == .reject && info.duration > config.audio.maxSeconds {
            throw PipelineError.audio(
                AudioError(.tooLong(seconds: info.duration, maximum: config.audio.maxSeconds), file: request.audioLabel)
            )
        }

        let depositID = UUID().uuidString.lowercased()
        let details = DepositDetails(
            mailbox: id.rawValue, callerNumber: callerNumber, callerName: callerName,
            receivedAt: request.receivedAt ?? Date(), urgent: request.urgent, format: format?.rawValue,
            fileExtension: fileExtension)
        let sealedName = QueueFiles.deposit(depositID)
        try files.write(
            sealedName,
            SealedFile.seal(
                try DepositPayload.encode(details, audio: audio), owner: KeyOwner.node.description,
                recipient: try directory.nodePublicKey()))
        let acceptance = try queue.accept(
            depositID: depositID, mailbox: id, idempotencyDigest: digest, bodyDigest: bodyDigest)
        if acceptance == .accepted(depositID: depositID) {
            accepted()
        } else {
            // Another door won the race for this key: ours was never recorded.
            try? files.remove(sealedName)
        }
        return try Self.receipt(acceptance, mailbox: id)
    }

    /// SHA-256 naming a deposit's body for `queue.3-body-digest`: the mailbox and the audio
    /// bytes (hashed first, so a large upload is not copied to be hashed with the id).
    static func bodyDigest(mailbox: MailboxID, audio: Data) -> Data {
        Hashing.sha256(Data("mailvox-deposit-body\u{0}\(mailbox.rawValue)\u{0}".utf8) + Hashing.sha256(audio))
    }

    /// The front door's answer to the queue's: a receipt, or `idempotency_mismatch`.
    private static func receipt(_ acceptance: JobQueue.Acceptance, mailbox: MailboxID) throws -> DepositReceipt {
        switch acceptance {
        case .accepted(let id): return DepositReceipt(depositID: id, duplicate: false)
        case .duplicate(let first): return DepositReceipt(depositID: first, duplicate: true)
        case .mismatch(let first): throw PipelineError.idempotencyMismatch(mailbox: mailbox.rawValue, depositID: first)
        }
    }

    private func ensureQueueDirectory() throws {
        if mkdir(config.queueDir, 0o700) != 0 && errno != EEXIST {
            throw PipelineError.io(path: config.queueDir, reason: String(cString: strerror(errno)))
        }
    }
}

/// A headerless recording's format, for front doors that learn it from a media type.
public typealias RawAudioFormat = RawFormat

/// What `GET /api/v1/deposits/{id}` shows (docs/DESIGN.md §3.5).
public struct DepositStatus: Sendable, Equatable {
    public var depositID: String
    public var mailbox: String
    public var status: String
    public var uid: UInt32?
    public var errorCode: String?
    public var errorMessage: String?
}

extension Intake {
    public func status(of depositID: String) throws -> DepositStatus? {
        try queue.deposit(id: depositID).map {
            DepositStatus(
                depositID: $0.id, mailbox: $0.mailbox.rawValue, status: $0.status.rawValue, uid: $0.uid,
                errorCode: $0.errorCode,
                errorMessage: $0.errorMessage)
        }
    }

    /// Why this node cannot take deposits now, or nil when it can: the database and (when the
    /// queue's files live there) the bucket must answer. What `/readyz` asks.
    public func unreadiness() -> String? {
        guard (try? queue.depth()) != nil else { return "the database does not answer" }
        guard files.isReachable() else { return "the bucket does not answer" }
        return nil
    }

    /// Queue depth and oldest age, for `/metrics`.
    public func queueDepth() throws -> (queued: Int, leased: Int, dead: Int, oldestSeconds: Double) {
        try queue.depth()
    }
}
