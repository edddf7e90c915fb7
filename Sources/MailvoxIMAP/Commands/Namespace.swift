import MailvoxIMAPCore

extension IMAPSession {
    /// NAMESPACE (RFC 2342): one personal namespace, no prefix, `/` as delimiter.
    mutating func namespace(tag: String) async {
        send(.namespace(NamespaceResponse(personal: [.init(prefix: "", delimiter: "/")])))
        await ok(tag, "NAMESPACE completed")
    }
}
