import Foundation
import MailvoxCore

/// A value as it arrives, before its setting gives it a type: from TOML, or from a
/// `MAILVOX_*` variable (always text; lists comma-separated).
enum RawValue {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case array([RawValue])
    /// A TOML table, date or time: never a valid config value.
    case other(typeName: String)
    case environment(String)

    var typeName: String {
        switch self {
        case .string, .environment: "a string"
        case .int: "an integer"
        case .double: "a number"
        case .bool: "a boolean"
        case .array: "an array"
        case .other(let name): name
        }
    }
}

/// Why a value was refused; the loader adds file, line and key.
struct ValueError: Error {
    var message: String
}

/// One config key: its name and how a raw value becomes part of `Configuration`.
///
/// One mechanism serves both the TOML file and the environment, so a key can never be
/// valid in one and not the other.
struct Setting: Sendable {
    let section: String
    let key: String
    let apply: @Sendable (inout Configuration, RawValue, _ baseDirectory: String) throws(ValueError) -> Void

    var path: String { section + "." + key }
}

// MARK: - Typed readers, shared by the settings

extension RawValue {
    func string() throws(ValueError) -> String {
        switch self {
        case .string(let text), .environment(let text): return text
        default: throw ValueError(message: "expected a string, found \(typeName)")
        }
    }

    func int(in range: ClosedRange<Int>) throws(ValueError) -> Int {
        let value: Int
        switch self {
        case .int(let number): value = number
        case .environment(let text):
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValueError(message: "expected an integer, found \"\(text)\"")
            }
            value = number
        default: throw ValueError(message: "expected an integer, found \(typeName)")
        }
        guard range.contains(value) else {
            throw ValueError(message: "\(value) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return value
    }

    func double(in range: ClosedRange<Double>) throws(ValueError) -> Double {
        let value: Double
        switch self {
        case .double(let number): value = number
        case .int(let number): value = Double(number)
        case .environment(let text):
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite else {
                throw ValueError(message: "expected a number, found \"\(text)\"")
            }
            value = number
        default: throw ValueError(message: "expected a number, found \(typeName)")
        }
        guard range.contains(value) else {
            throw ValueError(message: "\(value) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return value
    }

    func bool() throws(ValueError) -> Bool {
        switch self {
        case .bool(let flag): return flag
        case .environment(let text):
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw ValueError(message: "expected true or false, found \"\(text)\"")
            }
        default: throw ValueError(message: "expected a boolean, found \(typeName)")
        }
    }

    func strings() throws(ValueError) -> [String] {
        switch self {
        case .array(let items):
            var result: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw ValueError(message: "expected an array of strings, found \(item.typeName) in it")
                }
                result.append(text)
            }
            return result
        case .environment(let text):
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        default: throw ValueError(message: "expected an array of strings, found \(typeName)")
        }
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_: Choice.Type) throws(ValueError) -> Choice
    where Choice.RawValue == String {
        let text = try string()
        guard let value = Choice(rawValue: text) else {
            throw ValueError(
                message:
                    "\"\(text)\" is not one of \(Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return value
    }
}

// MARK: - Setting builders

extension Setting {
    static func string(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, String> & Sendable,
        check: @escaping @Sendable (String) -> String? = { _ in nil }
    ) -> Setting {
        Setting(section: section, key: key) { config, raw, _ throws(ValueError) in
            let text = try raw.string()
            if let problem = check(text) { throw ValueError(message: problem) }
            config[keyPath: keyPath] = text
        }
    }

    static func int(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, Int> & Sendable,
        _ range: ClosedRange<Int>
    ) -> Setting {
        Setting(section: section, key: key) { config, raw, _ throws(ValueError) in
            config[keyPath: keyPath] = try raw.int(in: range)
        }
    }

    static func double(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, Double> & Sendable,
        _ range: ClosedRange<Double>
    ) -> Setting {
        Setting(section: section, key: key) { config, raw, _ throws(ValueError) in
            config[keyPath: keyPath] = try raw.double(in: range)
        }
    }

    static func bool(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, Bool> & Sendable
    )
        -> Setting
    {
        Setting(section: section, key: key) { config, raw, _ throws(ValueError) in
            config[keyPath: keyPath] = try raw.bool()
        }
    }

    static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, Choice> & Sendable
    ) -> Setting where Choice.RawValue == String {
        Setting(section: section, key: key) { config, raw, _ throws(ValueError) in
            config[keyPath: keyPath] = try raw.choice(Choice.self)
        }
    }

    /// A file or folder path; relative paths resolve against the config file's directory.
    static func path(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, String> & Sendable
    )
        -> Setting
    {
        Setting(section: section, key: key) { config, raw, base throws(ValueError) in
            let text = try raw.string()
            guard !text.isEmpty else { throw ValueError(message: "must not be empty") }
            config[keyPath: keyPath] = resolve(text, against: base)
        }
    }

    /// A path where `""` means "none".
    static func optionalPath(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, String?> & Sendable
    ) -> Setting {
        Setting(section: section, key: key) { config, raw, base throws(ValueError) in
            let text = try raw.string()
            config[keyPath: keyPath] = text.isEmpty ? nil : resolve(text, against: base)
        }
    }

    /// A `host:port` where `""` disables the listener.
    static func listener(
        _ section: String, _ key: String, _ keyPath: WritableKeyPath<Configuration, HostPort?> & Sendable
    ) -> Setting {
        Setting(section: section, key: key) { config, raw, _ throws(ValueError) in
            let text = try raw.string()
            if text.isEmpty {
                config[keyPath: keyPath] = nil
                return
            }
            guard let address = HostPort(parsing: text) else {
                throw ValueError(
                    message: "\"\(text)\" is not host:port (e.g. \"127.0.0.1:1143\", \"[::1]:1993\"; \"\" disables)")
            }
            config[keyPath: keyPath] = address
        }
    }
}

/// Makes `path` absolute against `base` and drops `.` segments, so logs show clean paths.
func resolve(_ path: String, against base: String) -> String {
    let absolute = path.hasPrefix("/") ? path : base + "/" + path
    return URL(fileURLWithPath: absolute).standardizedFileURL.path
}
