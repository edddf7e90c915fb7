/// How an alert reaches a mailbox's owner (docs/DESIGN.md §7): one notify job per recipient,
/// email through the SMTP relay, SMS through the configured gateway.
///
/// The raw values are what the `job` and `alert_result` tables store, `/metrics` labels and
/// `queue list` and `mailbox show` print, so they never change. (Not the `sms` template's name
/// nor `Mailbox`'s `sms` JSON key: those only happen to share the word.)
public enum AlertChannel: String, Sendable, Codable, CaseIterable {
    /// An alert mail to one of the mailbox's `emails`.
    case email
    /// A text to one of the mailbox's `sms` numbers.
    case sms
}
