import MailvoxIMAPCore

extension IMAPSession {
    /// ENABLE (RFC 5161): only CONDSTORE is an extension that needs enabling here; others are
    /// ignored, as the RFC requires.
    mutating func enable(_ capabilities: [String], tag: String) async {
        var enabled: [String] = []
        for capability in capabilities where capability.uppercased() == "CONDSTORE" && !enabled.contains("CONDSTORE") {
            state.condStoreUsed()
            enabled.append("CONDSTORE")
        }
        send(.enabled(enabled))
        await ok(tag, "ENABLE completed")
    }
}
