import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// NAMESPACE (RFC 2342): the login's own folders without a prefix, the mailboxes shared
    /// with it (departments it is a member of) under `Shared/`; `/` as delimiter in both.
    mutating func namespace(tag: String) async {
        send(
            .namespace(
                NamespaceResponse(
                    personal: [.init(prefix: "", delimiter: "/")],
                    shared: [.init(prefix: NamespaceStore.sharedPrefix + "/", delimiter: "/")])))
        await ok(tag, "NAMESPACE completed")
    }
}
