import MailvoxCore

/// A template that cannot be used; raised at startup, naming the file.
public enum TemplateError: MailvoxFailure, Equatable {
    /// No folder of the search order holds this template.
    case missing(name: String, searched: [String])
    /// The file exists but does not parse.
    case broken(file: String, line: Int, column: Int, reason: String)
    /// The file exists but cannot be read (permissions, not UTF-8).
    case unreadable(file: String)

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .missing(let name, let searched):
            "template \(name) not found (searched \(searched.isEmpty ? "no folder" : searched.joined(separator: ", ")))"
        case .broken(let file, let line, let column, let reason):
            "template \(file):\(line):\(column): \(reason)"
        case .unreadable(let file): "template \(file) cannot be read as UTF-8 text"
        }
    }
}
