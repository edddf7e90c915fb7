import MailvoxIMAPCore

extension IMAPSession {
    /// LOGOUT (RFC 3501 §6.1.3): BYE, then the tagged OK, then the connection closes.
    mutating func logout(tag: String) -> SessionAction {
        send(.condition(StatusResponse(.bye, text: "Mailvox logging out")))
        send(.tagged(tag: tag, StatusResponse(.ok, text: "LOGOUT completed")))
        close()
        return .close
    }
}
