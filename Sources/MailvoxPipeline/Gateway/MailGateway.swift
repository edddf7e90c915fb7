import Foundation
import Logging
import MailvoxAudio
import MailvoxCore
import MailvoxCrypto
import MailvoxMIME
import MailvoxSMTPCore
import MailvoxStore

/// The email door's one path (docs/DESIGN.md §3.9): recipient addresses to mailboxes, an email
/// to a voicemail, and the voicemail into `Intake` — the same validation, sealing and fsyncs as
/// every other door — once per mailbox. The SMTP and LMTP listeners and `mailvox sendmail`
/// all come here; each answer is an SMTP reply, which `sendmail` maps to an exit code.
///
/// Blocking (SQLite, fsync): callers on an event loop or the cooperative pool offload it.
public struct MailGateway: Sendable {
    let config: Configuration
    let directory: Directory
    let intake: Intake
    let logger: Logger

    public init(config: Configuration, directory: Directory, intake: Intake, logger: Logger) {
        self.config = config
        self.directory = directory
        self.intake = intake
        self.logger = logger
    }

    public enum Resolution: Sendable, Equatable {
        case mailbox(MailboxID)
        case refused(SMTPReply)
    }

    /// Which mailbox an address reaches: `ID@domain`, or an alias; `+detail` ignored; the
    /// domain one of `[inbound] domains` (an address without one, as `sendmail` takes, is local).
    public func resolve(_ address: SMTPAddress) throws -> Resolution {
        if !address.domain.isEmpty && !config.inboundDomains.contains(address.domain) {
            return .refused(.relayDenied)
        }
        var local = address.localPart
        if let plus = local.firstIndex(of: "+"), plus != local.startIndex { local = String(local[..<plus]) }
        var found: MailboxID?
        if let id = MailboxID(local), let mailbox = try directory.mailbox(id) {
            found = mailbox.id
        } else {
            found = try directory.mailboxID(forAlias: local, domain: address.domain)
        }
        guard let found else { return .refused(.unknownUser) }
        // A full mailbox is refused at RCPT, before the sender transmits the recording.
        let quota = try directory.quota(of: found, defaults: config.quota)
        return quota.limits.isFull(quota.usage) ? .refused(.mailboxFull) : .mailbox(found)
    }

    /// Takes one message for `mailboxes`: one reply per mailbox, in order, each positive only
    /// once that mailbox's deposit is durable.
    public func deliver(_ bytes: [UInt8], to mailboxes: [MailboxID], sender: SMTPAddress?) -> [SMTPReply] {
        let voicemail: VoicemailMail
        do {
            let mail = try InboundMail(bytes: bytes, limits: MessageLimits(maxBytes: config.inbound.maxMessageBytes))
            let from = sender?.description.lowercased() ?? mail.from.map { "\($0.localPart ?? "")@\($0.domain ?? "")" }
            voicemail = try VoicemailMail.read(mail, sender: from, patterns: config.inbound.callerPatterns)
        } catch let error as MessageParseError {
            return Array(
                repeating: SMTPReply(554, "5.6.0", "Message cannot be parsed: \(error)"), count: mailboxes.count)
        } catch VoicemailMail.Refusal.noAudio {
            logger.notice("email without a recording refused", metadata: ["recipients": "\(mailboxes.count)"])
            return Array(repeating: .noAudio, count: mailboxes.count)
        } catch {
            return Array(repeating: SMTPReply(554, "5.6.0", "\(error)"), count: mailboxes.count)
        }
        // Two addresses of one mailbox (its id and an alias) make one voicemail, not two.
        var replies: [MailboxID: SMTPReply] = [:]
        return mailboxes.map { mailbox in
            if let reply = replies[mailbox] { return reply }
            let reply = deposit(voicemail, into: mailbox)
            replies[mailbox] = reply
            return reply
        }
    }

    private func deposit(_ voicemail: VoicemailMail, into mailbox: MailboxID) -> SMTPReply {
        // The Message-ID names the email for good: a PBX or MTA that resends it after a lost
        // 250 makes no second voicemail (the queue keeps keys per mailbox).
        var request = DepositRequest(
            mailbox: mailbox.rawValue, audio: .bytes(voicemail.audio, fileExtension: voicemail.fileExtension),
            format: voicemail.format, callerNumber: voicemail.callerNumber, callerName: voicemail.callerName,
            receivedAt: voicemail.receivedAt, urgent: voicemail.urgent,
            idempotencyKey: voicemail.messageID.map { "message-id:" + $0 })
        do {
            let receipt: DepositReceipt
            do {
                receipt = try intake.deposit(request)
            } catch PipelineError.idempotencyMismatch {
                // A different recording under a Message-ID already used: a PBX that reuses ids.
                // It is another voicemail, so it is kept under a key of its own, never dropped.
                logger.notice("a Message-ID came again with other audio; kept as a voicemail of its own")
                request.idempotencyKey = request.idempotencyKey.map {
                    $0 + "#" + Hashing.sha256(voicemail.audio).lowercaseHex
                }
                receipt = try intake.deposit(request)
            }
            logger.info(
                "email deposit",
                metadata: [
                    "deposit": "\(receipt.depositID)", "mailbox": "\(mailbox)", "duplicate": "\(receipt.duplicate)",
                ])
            return SMTPReply(
                250, "2.0.0",
                receipt.duplicate ? "Already queued as \(receipt.depositID)" : "Queued as \(receipt.depositID)")
        } catch let error as PipelineError {
            return Self.reply(for: error)
        } catch {
            logger.error("email deposit failed", metadata: ["error": "\(error)"])
            return DiskSpace.isDiskFullError(error) ? .storageFull : .temporaryFailure
        }
    }

    /// The SMTP answer to each reason a deposit is refused (RFC 3463 codes).
    static func reply(for error: PipelineError) -> SMTPReply {
        switch error {
        case .mailboxNotFound: .unknownUser
        case .mailboxFull: .mailboxFull
        case .payloadTooLarge(_, let limit): .tooBig(limit: limit)
        case .insufficientStorage: .storageFull
        case .audio(let audio):
            // In a mail's words: no upload, no --format, the attachment is what the sender knows.
            if case .notAudio(nil) = audio.reason {
                SMTPReply(554, "5.6.0", "The attachment is not audio Mailvox knows (WAV, GSM, MP3, Ogg, FLAC, G.711)")
            } else {
                SMTPReply(554, "5.6.0", "The attached recording cannot be used: \(audio.message)")
            }
        case .badRequest(let reason): SMTPReply(554, "5.6.0", reason)
        case .idempotencyMismatch, .corruptDeposit, .io: .temporaryFailure
        }
    }
}
