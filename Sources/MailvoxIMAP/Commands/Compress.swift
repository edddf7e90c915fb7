import MailvoxIMAPCore

extension IMAPSession {
    /// COMPRESS DEFLATE (RFC 4978 §3): the OK is the last uncompressed octets; the connection
    /// puts raw DEFLATE in both directions before reading on. Once on, it stays on.
    mutating func compress(_ mechanism: String, tag: String) -> SessionAction {
        guard !state.isCompressed else {
            no(tag, code: .compressionActive, "DEFLATE is already active")
            return .proceed
        }
        // The grammar knows only DEFLATE (§5), so another name is an invalid argument.
        guard mechanism == "DEFLATE" else {
            bad(tag, "Unknown compression mechanism")
            return .proceed
        }
        send(.tagged(tag: tag, StatusResponse(.ok, text: "DEFLATE active")))
        return .startCompression
    }

    /// The connection put the deflate layer in place: capabilities change (COMPRESS=DEFLATE goes).
    mutating func didStartCompression() {
        state.compressionStarted()
    }
}
