import MailvoxIMAPCore

extension IMAPSession {
    /// ENABLE (RFC 5161): CONDSTORE and QRESYNC (which implies CONDSTORE) are the extensions
    /// that need enabling here; others are ignored, as the RFC requires.
    mutating func enable(_ capabilities: [String], tag: String) async {
        var enabled: [String] = []
        for capability in capabilities.map({ $0.uppercased() }) where !enabled.contains(capability) {
            switch capability {
            case "CONDSTORE": state.condStoreUsed()
            case "QRESYNC": state.qresyncEnabled()
            default: continue
            }
            enabled.append(capability)
        }
        send(.enabled(enabled))
        await ok(tag, "ENABLE completed")
    }
}
