import Foundation
import Logging
import MailvoxCore
import MailvoxPipeline
import MailvoxSMTP
import MailvoxSMTPCore
import MailvoxStore
import Metrics

/// The SMTP/LMTP listeners' view of Mailvox: API tokens for AUTH (counted with the same
/// `[auth]` limits as IMAP logins), and the `MailGateway` for recipients and messages. Every
/// call that touches SQLite or the disk runs on the blocking pools, never on an event loop.
struct GatewayBackend: SMTPBackend {
    let gateway: MailGateway
    let directory: Directory
    let failures: FailureCounter
    let logger: Logger

    init(gateway: MailGateway, directory: Directory, auth: Configuration.Auth, logger: Logger) {
        self.gateway = gateway
        self.directory = directory
        // A refused AUTH waits a second, then longer past the limit, as an IMAP login does.
        self.failures = FailureCounter(maxFailures: auth.maxFailures, lockoutSeconds: Double(auth.lockoutSeconds))
        self.logger = logger
    }

    func authenticate(username: String, password: String, client: ClientAddress) async -> SMTPAuthVerdict {
        // Counted per client address: the secret is a token, not a mailbox's password, so
        // there is no per-mailbox key, and a guesser gets `max_failures` tries per lockout.
        let key = FailureCounter.Key("smtp|\(client)", maxFailures: failures.maxFailures)
        switch failures.begin([key]) {
        case .refused(let delay):
            try? await Task.sleep(for: delay)
            return .lockedOut
        case .admitted(let attempt):
            let directory = self.directory
            let name = try? await Offload.run { try directory.authenticateToken(password) }
            if let name = name ?? nil {
                failures.succeeded(attempt, forgetting: [key.name])
                return .accepted(identity: name)
            }
            let delay = failures.failed(attempt)
            logger.notice("smtp: AUTH refused", metadata: ["client": "\(client)"])
            try? await Task.sleep(for: delay)
            return failures.failures([key.name]) >= key.maxFailures ? .lockedOut : .refused
        }
    }

    func recipient(_ address: SMTPAddress) async -> SMTPRecipientVerdict {
        let gateway = self.gateway
        do {
            switch try await Offload.run({ try gateway.resolve(address) }) {
            case .mailbox(let id): return .accepted(mailbox: id.rawValue)
            case .refused(let reply): return .refused(reply)
            }
        } catch {
            logger.error("smtp: recipient lookup failed", metadata: ["error": "\(error)"])
            return .refused(.temporaryFailure)
        }
    }

    func deliver(_ envelope: SMTPEnvelope, message: [UInt8]) async -> [SMTPReply] {
        let gateway = self.gateway
        // The ids are the ones `recipient` resolved, so they always parse.
        let mailboxes = envelope.recipients.compactMap { MailboxID($0.mailbox) }
        guard mailboxes.count == envelope.recipients.count else {
            return Array(repeating: .temporaryFailure, count: envelope.recipients.count)
        }
        // Probe and seal at intake priority, as HTTP uploads are: intake must not starve the
        // IMAP sessions and health checks of the same machine.
        let replies = await Offload.bulk { gateway.deliver(message, to: mailboxes, sender: envelope.mailFrom) }
        for reply in replies {
            let result = reply.isPositive ? "accepted" : reply.isTransient ? "deferred" : "refused"
            Counter(label: "mailvox_inbound_deliveries", dimensions: [("result", result)]).increment()
        }
        return replies
    }
}
