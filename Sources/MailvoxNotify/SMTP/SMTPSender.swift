import Foundation

/// Keeps one `SMTPConnection` open across a burst of alerts: a connection idle for less than
/// `idleSeconds` is reused; an older one is probed with RSET first; a broken one is replaced.
///
/// One sender per worker thread (it is not thread-safe), so N workers hold at most N connections.
public final class SMTPSender {
    public let settings: SMTPSettings
    private var connection: SMTPConnection?
    /// Connections opened so far (tests and the benchmark check reuse with it).
    public private(set) var connectionsOpened = 0

    public init(settings: SMTPSettings) {
        self.settings = settings
    }

    /// Sends one message; see `SMTPConnection.send`. A reused connection that turns out to be
    /// dead before MAIL FROM was answered is replaced once, so no message is sent twice.
    public func send(
        from sender: String, to recipients: [String], message: [UInt8]
    ) throws(NotifyError)
        -> [RecipientOutcome]
    {
        if let open = connection, Date().timeIntervalSince(open.lastUsed) > 2,
            Date().timeIntervalSince(open.lastUsed) > settings.idleSeconds || !open.isAlive()
        {
            connection = nil
        }
        let reused = connection != nil
        do {
            return try current().send(from: sender, to: recipients, message: message)
        } catch {
            connection = nil
            // Only a failure of MAIL FROM itself on a reused connection is retried: nothing
            // was accepted yet, so nothing can arrive twice.
            if reused, case .connection(let reason) = error, reason.contains("MAIL FROM") {
                return try current().send(from: sender, to: recipients, message: message)
            }
            throw error
        }
    }

    /// Closes the connection (QUIT) if one is open.
    public func close() { connection = nil }

    private func current() throws(NotifyError) -> SMTPConnection {
        if let connection { return connection }
        let opened = try SMTPConnection(settings: settings)
        connectionsOpened += 1
        connection = opened
        return opened
    }
}
