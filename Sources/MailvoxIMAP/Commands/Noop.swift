import MailvoxIMAPCore

extension IMAPSession {
    /// NOOP and CHECK (RFC 3501 §6.1.2, §6.4.1): nothing to do but report every pending update,
    /// expunges included. The store commits each change durably, so CHECK has no checkpoint to make.
    mutating func noop(tag: String, name: String) async {
        await ok(tag, "\(name) completed")
    }
}
