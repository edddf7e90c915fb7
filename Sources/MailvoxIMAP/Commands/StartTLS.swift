import MailvoxIMAPCore

extension IMAPSession {
    /// STARTTLS (RFC 3501 §6.2.1, RFC 2595): the OK is the last plaintext; the connection puts
    /// TLS in place before reading on and throws away anything sent after the command.
    mutating func startTLS(tag: String) -> SessionAction {
        guard !state.isTLS else {
            bad(tag, "TLS is already active")
            return .proceed
        }
        guard configuration.startTLSAvailable else {
            no(tag, "STARTTLS is not available")
            return .proceed
        }
        send(.tagged(tag: tag, StatusResponse(.ok, text: "Begin TLS negotiation now")))
        return .startTLS
    }

    /// The connection finished the TLS handshake set-up: capabilities change (RFC 3501 §6.2.1).
    mutating func didStartTLS() {
        state.tlsStarted()
    }
}
