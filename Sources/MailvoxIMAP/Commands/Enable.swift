import MailvoxIMAPCore

extension IMAPSession {
    /// ENABLE (RFC 5161): CONDSTORE, QRESYNC (which implies CONDSTORE), UTF8=ACCEPT (RFC 6855)
    /// and IMAP4rev2 (RFC 9051 §6.3.1) change what this session says; others are ignored, as the
    /// RFC requires. ENABLED names each as CAPABILITY spells it.
    mutating func enable(_ capabilities: [String], tag: String) async {
        var enabled: [String] = []
        for requested in capabilities {
            let capability: String
            switch requested.uppercased() {
            case "CONDSTORE":
                state.condStoreUsed()
                capability = "CONDSTORE"
            case "QRESYNC":
                state.qresyncEnabled()
                capability = "QRESYNC"
            case "UTF8=ACCEPT":
                state.utf8AcceptEnabled()
                capability = "UTF8=ACCEPT"
            case "IMAP4REV2":
                state.imap4rev2Enabled()
                capability = "IMAP4rev2"
            default: continue
            }
            if !enabled.contains(capability) { enabled.append(capability) }
        }
        send(.enabled(enabled))
        await ok(tag, "ENABLE completed")
    }
}
