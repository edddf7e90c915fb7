import MailvoxIMAPCore

extension IMAPSession {
    /// What this session can do now, in docs/DESIGN.md §6's order: STARTTLS and LOGINDISABLED only
    /// before TLS, AUTH=PLAIN only where a password may be sent and only before login,
    /// COMPRESS=DEFLATE only after login and until it is on.
    var capabilities: [String] {
        var result = ["IMAP4rev1", "IMAP4rev2"]
        let loggedIn = state.store != nil
        if !loggedIn {
            if !state.isTLS && configuration.startTLSAvailable { result.append("STARTTLS") }
            if !loginAllowed { result.append("LOGINDISABLED") }
            if loginAllowed { result.append("AUTH=PLAIN") }
        }
        result += [
            "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE",
            "LITERAL+", "LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES",
            "SORT", "SORT=DISPLAY", "ESORT", "MULTIAPPEND", "BINARY", "QUOTA",
            "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "ACL", "RIGHTS=texk", "UTF8=ACCEPT",
        ]
        // RFC 4978 §3: after login, and only while it could still be turned on.
        if loggedIn && !state.isCompressed { result.append("COMPRESS=DEFLATE") }
        return result
    }

    /// CAPABILITY (RFC 3501 §6.1.1).
    mutating func capabilityCommand(tag: String) async {
        send(.capability(capabilities))
        await ok(tag, "CAPABILITY completed")
    }
}
