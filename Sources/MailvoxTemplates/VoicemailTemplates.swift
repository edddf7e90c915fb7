import Foundation
import MailvoxCore
import Mustache

/// The templates of one server, found and parsed once at startup (docs/DESIGN.md §4): subject,
/// plain text, HTML and SMS, each with its language variants.
///
/// Every `*.mustache` file of the search path that names a known template is parsed up front,
/// so a broken variant fails the start, not the first German voicemail.
public struct VoicemailTemplates: Sendable {
    /// A template kind and its file name stem.
    public enum Kind: String, Sendable, CaseIterable {
        case subject = "voicemail.subject"
        case text = "voicemail.txt"
        case html = "voicemail.html"
        case sms = "sms"

        /// `voicemail.de.txt.mustache`, `sms.de-CH.mustache`, or the default without a language.
        func fileName(language: String?) -> String {
            guard let language else { return rawValue + ".mustache" }
            switch self {
            case .sms: return "sms.\(language).mustache"
            case .subject, .text, .html:
                return "voicemail.\(language).\(rawValue.dropFirst("voicemail.".count)).mustache"
            }
        }

        /// Only HTML escapes what it inserts.
        var escapesHTML: Bool { self == .html }
    }

    /// Parsed templates by file name, with the path each came from.
    private var templates: [String: (path: String, template: MustacheTemplate)]
    public let searchPath: TemplateSearchPath

    /// Finds and parses every template; throws `TemplateError` naming the first missing or broken file.
    public init(searchPath: TemplateSearchPath) throws {
        self.searchPath = searchPath
        var found: [String: (String, MustacheTemplate)] = [:]
        let manager = FileManager.default
        for folder in searchPath.folders {
            guard let names = try? manager.contentsOfDirectory(atPath: folder) else { continue }
            for name in names.sorted() where found[name] == nil {
                guard let kind = Self.kind(ofFile: name) else { continue }
                let path = (folder as NSString).appendingPathComponent(name)
                found[name] = (path, try Self.parse(path: path, kind: kind))
            }
        }
        for kind in Kind.allCases where found[kind.fileName(language: nil)] == nil {
            throw TemplateError.missing(name: kind.fileName(language: nil), searched: searchPath.folders)
        }
        self.templates = found
    }

    /// The path of the file that renders `kind` for `language` (`de-CH`, then `de`, then the default).
    public func path(of kind: Kind, language: String?) -> String {
        templates[resolvedName(kind, language: language)]!.path
    }

    /// Renders `kind` for the mailbox's language; HTML escapes the values it inserts, the others do not.
    public func render(_ kind: Kind, _ context: TemplateContext) -> String {
        render(kind, language: context.language, variables: context.variables)
    }

    private func render(_ kind: Kind, language: String?, variables: [String: Any]) -> String {
        templates[resolvedName(kind, language: language)]!.template.render(variables)
    }

    /// Subject, text and HTML at once; the subject on one line (line breaks become spaces).
    public func renderVoicemail(_ context: TemplateContext) -> (subject: String, text: String, html: String) {
        // The variables once for all three: they format the date four ways.
        let variables = context.variables
        let language = context.language
        let subject = render(.subject, language: language, variables: variables)
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        return (
            subject, render(.text, language: language, variables: variables),
            render(.html, language: language, variables: variables)
        )
    }

    private func resolvedName(_ kind: Kind, language: String?) -> String {
        for candidate in Self.languageCandidates(language) where templates[kind.fileName(language: candidate)] != nil {
            return kind.fileName(language: candidate)
        }
        return kind.fileName(language: nil)
    }

    /// `de-CH` → `de-CH`, `de`; `de_CH` is read as `de-CH`.
    public static func languageCandidates(_ language: String?) -> [String] {
        guard let language = language?.replacingOccurrences(of: "_", with: "-"), !language.isEmpty else { return [] }
        var candidates = [language]
        var parts = language.split(separator: "-")
        while parts.count > 1 {
            parts.removeLast()
            candidates.append(parts.joined(separator: "-"))
        }
        return candidates
    }

    /// The kind a file name belongs to, default or language variant; nil for other files.
    static func kind(ofFile name: String) -> Kind? {
        guard name.hasSuffix(".mustache") else { return nil }
        let parts = name.dropLast(".mustache".count).split(separator: ".", omittingEmptySubsequences: false)
        func isLanguage(_ tag: Substring) -> Bool {
            !tag.isEmpty && tag.count <= 35
                && tag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        switch parts.count {
        case 1 where parts[0] == "sms": return .sms
        case 2 where parts[0] == "sms" && isLanguage(parts[1]): return .sms
        case 2 where parts[0] == "voicemail": return Kind(rawValue: "voicemail." + parts[1])
        case 3 where parts[0] == "voicemail" && isLanguage(parts[1]): return Kind(rawValue: "voicemail." + parts[2])
        default: return nil
        }
    }

    private static func parse(path: String, kind: Kind) throws -> MustacheTemplate {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else { throw TemplateError.unreadable(file: path) }
        // swift-mustache escapes HTML by default; plain text and SMS must come out verbatim.
        let pragma = kind.escapesHTML ? "" : "{{% CONTENT_TYPE: TEXT }}"
        do {
            return try MustacheTemplate(string: pragma + text)
        } catch let error as MustacheTemplate.ParserError {
            let column =
                error.context.lineNumber == 1 ? error.context.columnNumber - pragma.count : error.context.columnNumber
            throw TemplateError.broken(
                file: path, line: error.context.lineNumber, column: max(column, 0), reason: "\(error.error)")
        } catch {
            throw TemplateError.broken(file: path, line: 0, column: 0, reason: "\(error)")
        }
    }
}
