import MailvoxIMAPCore

extension IMAPSession {
    /// ID (RFC 2971): the server names itself; the client's fields are not logged (they may
    /// identify a person's device).
    mutating func id(_ parameters: [IDParameter]?, tag: String) async {
        send(.id([IDParameter("name", "Mailvox"), IDParameter("vendor", "Mailvox")]))
        await ok(tag, "ID completed")
    }
}
