/// What an error means for whoever ran the command, and so which exit code it gets.
///
/// docs/DESIGN.md §3.3: 0 success; 1 runtime failure; 2 usage, config or input error.
public enum FailureKind: Sendable {
    /// The request, an argument, the config or the input is wrong: fixing it is the user's move (exit 2).
    case input
    /// Something failed while doing what was asked: disk, network, a peer (exit 1).
    case runtime

    public var exitCode: Int32 { self == .input ? 2 : 1 }
}

/// An error with a message written for the administrator who reads it on one stderr line.
///
/// Every module's typed error conforms, so the CLI and the front doors print the same text.
public protocol MailvoxFailure: Error, CustomStringConvertible {
    var kind: FailureKind { get }
    /// True when the same request may work later, unchanged: a database server or bucket that
    /// does not answer (the doors say HTTP 503, SMTP 451).
    var isTemporary: Bool { get }
}

extension MailvoxFailure {
    public var isTemporary: Bool { false }
}
