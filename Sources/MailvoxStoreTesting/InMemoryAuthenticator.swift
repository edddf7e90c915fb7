import MailvoxCore

/// Logins for tests: mailbox id + password → that mailbox's `InMemoryMailStore`. Counts
/// failures per (mailbox, address) and per address as `[auth]` describes: past `maxFailures`
/// the delay doubles from `baseDelay` up to `maxDelay`.
public actor InMemoryAuthenticator: Authenticator {
    struct Account {
        var password: String
        var store: InMemoryMailStore
    }

    var accounts: [String: Account] = [:]
    var failures: [String: Int] = [:]
    let maxFailures: Int
    let baseDelay: Duration
    let maxDelay: Duration
    /// Every attempt as (mailbox, address, succeeded), for tests of what was checked.
    public private(set) var attempts: [(mailbox: String, client: String, succeeded: Bool)] = []

    public init(maxFailures: Int = 5, baseDelay: Duration = .milliseconds(50), maxDelay: Duration = .seconds(300)) {
        self.maxFailures = maxFailures
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Adds (or replaces) a mailbox; its store is returned so tests can deliver into it.
    @discardableResult
    public func add(_ mailbox: MailboxID, password: String, store: InMemoryMailStore? = nil) -> InMemoryMailStore {
        let store = store ?? InMemoryMailStore(mailbox: mailbox)
        accounts[mailbox.rawValue.lowercased()] = Account(password: password, store: store)
        return store
    }

    public func authenticate(mailbox: String, password: String, client: ClientAddress) -> AuthenticationResult {
        let pairKey = mailbox.lowercased() + "\u{0}" + client.rawValue
        let addressKey = "\u{0}" + client.rawValue
        if let account = accounts[mailbox.lowercased()], account.password == password {
            failures[pairKey] = nil
            attempts.append((mailbox, client.rawValue, true))
            return .success(account.store)
        }
        failures[pairKey, default: 0] += 1
        failures[addressKey, default: 0] += 1
        attempts.append((mailbox, client.rawValue, false))
        let count = max(failures[pairKey]!, failures[addressKey]! / 2)
        guard count > maxFailures else { return .failure(delay: baseDelay) }
        var delay = baseDelay
        for _ in 0..<min(count - maxFailures, 30) where delay < maxDelay { delay = delay * 2 }
        return .failure(delay: min(delay, maxDelay))
    }
}
