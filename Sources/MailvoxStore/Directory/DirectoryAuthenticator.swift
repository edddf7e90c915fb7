import Foundation
import MailvoxCore
import MailvoxCrypto

/// Logs IMAP users in against the mailbox directory: mailbox id and password, failures
/// counted per (mailbox, address) and per address with `FailureCounter` (`[auth]`).
///
/// An unknown mailbox costs the same scrypt work as a wrong password, so timing does not
/// tell which ids exist; and while a key is locked no password is checked at all.
public struct DirectoryAuthenticator: Authenticator {
    let directory: Directory
    let store: MessageStore
    let limits: MessageLimits
    let failures: FailureCounter

    public init(directory: Directory, store: MessageStore, limits: MessageLimits, auth: Configuration.Auth) {
        self.directory = directory
        self.store = store
        self.limits = limits
        self.failures = FailureCounter(
            maxFailures: auth.maxFailures, lockoutSeconds: Double(auth.lockoutSeconds), baseDelay: .seconds(1))
    }

    public func authenticate(mailbox: String, password: String, client: ClientAddress) async -> AuthenticationResult {
        // Ids are case-insensitive in the directory; the counter keys must agree.
        let keys = ["\(mailbox.lowercased())|\(client)", "\(client)"]
        if failures.isLocked(keys) {
            return .failure(delay: failures.failed(keys))
        }
        let directory = self.directory
        let id = MailboxID(mailbox)
        let canonical: MailboxID? = await {
            guard let id else {
                _ = try? await Offload.run { try PasswordHasher.verify(password, against: Self.decoyHash) }
                return nil
            }
            return try? await Offload.run { () throws -> MailboxID? in
                guard let record = try directory.mailbox(id) else {
                    _ = try PasswordHasher.verify(password, against: Self.decoyHash)
                    return nil
                }
                return try directory.verifyPassword(record.id, password: password) ? record.id : nil
            }
        }()
        guard let canonical else { return .failure(delay: failures.failed(keys)) }
        failures.succeeded([keys[0]])
        return .success(MailboxStore(mailbox: canonical, store: store, limits: limits))
    }

    /// A hash no password matches, verified in place of a missing mailbox's.
    static let decoyHash: String = (try? PasswordHasher.standard.hash(UUID().uuidString)) ?? ""
}
