import MailvoxCore

/// A configuration problem, naming the file (or variable), the key and, where known, the line.
public struct ConfigError: MailvoxFailure, Equatable {
    /// The config file, or the `MAILVOX_*` variable the value came from.
    public var source: String
    /// The 1-based line in `source`, when the parser or the key's position tells it.
    public var line: Int?
    /// The key as `section.key`, when the problem is one key's.
    public var key: String?
    public var message: String

    public init(source: String, line: Int? = nil, key: String? = nil, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.message = message
    }

    public var kind: FailureKind { .input }

    public var description: String {
        var text = source
        if let line { text += ":\(line)" }
        if let key { text += ": \(key)" }
        return text + ": " + message
    }
}
