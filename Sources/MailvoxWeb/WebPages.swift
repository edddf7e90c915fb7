import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxTemplates
import Mustache
import TOMLKit

/// The web inbox's pages, words and static files, from `Templates/web/` (docs/WEB.md).
///
/// Found file by file along the alert templates' search path (`[templates] dir`, the installed
/// share folder, the checkout), so an operator overrides one page, one language or the style
/// sheet the same way as an alert mail. Everything is read and parsed once, at start: a
/// broken file stops the server naming it, and no request ever touches the disk for a page.
struct WebPages: Sendable {
    static let pages = ["layout", "login", "inbox", "greetings", "settings", "error"]
    /// Served under `/static/`, with their media types; nothing else is.
    static let assets: [String: String] = [
        "app.css": "text/css; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
        "icon.svg": "image/svg+xml",
    ]

    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
        /// A strong validator: the first 16 hex digits of the SHA-256.
        let etag: String
    }

    let library: MustacheLibrary
    /// Language tag (`""` for the default, English) → key → text.
    let strings: [String: [String: String]]
    let assetFiles: [String: Asset]
    /// Languages with a strings file, besides English.
    let languages: Set<String>

    init(searchPath: TemplateSearchPath) throws(TemplateError) {
        func locate(_ name: String) -> String? {
            searchPath.folders.map { "\($0)/web/\(name)" }.first { FileManager.default.fileExists(atPath: $0) }
        }
        func read(_ name: String) throws(TemplateError) -> (path: String, data: Data) {
            guard let path = locate(name) else {
                throw .missing(name: "web/\(name)", searched: searchPath.folders.map { "\($0)/web" })
            }
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(file: path) }
            return (path, data)
        }
        var library = MustacheLibrary()
        for page in Self.pages {
            let (path, data) = try read("\(page).mustache")
            guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(file: path) }
            do {
                library.register(try MustacheTemplate(string: text), named: page)
            } catch let error as MustacheTemplate.ParserError {
                throw .broken(
                    file: path, line: error.context.lineNumber, column: error.context.columnNumber,
                    reason: "\(error.error)")
            } catch {
                throw .broken(file: path, line: 0, column: 0, reason: "\(error)")
            }
        }
        self.library = library

        var strings: [String: [String: String]] = [:]
        let (defaultPath, defaultData) = try read("strings.toml")
        strings[""] = try Self.parseStrings(defaultData, path: defaultPath)
        var languages: Set<String> = []
        for folder in searchPath.folders.reversed() {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/web")) ?? []
            for file in files where file.hasPrefix("strings.") && file.hasSuffix(".toml") && file != "strings.toml" {
                let language = String(file.dropFirst("strings.".count).dropLast(".toml".count)).lowercased()
                let path = "\(folder)/web/\(file)"
                guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(file: path) }
                // Reversed search order: a more specific folder's file replaces the built-in one.
                strings[language] = try Self.parseStrings(data, path: path)
                languages.insert(language)
            }
        }
        self.strings = strings
        self.languages = languages

        var assets: [String: Asset] = [:]
        for (name, type) in Self.assets {
            let (_, data) = try read("static/\(name)")
            let digest = Hashing.sha256(data).lowercaseHex
            assets[name] = Asset(bytes: [UInt8](data), contentType: type, etag: "\"\(digest.prefix(16))\"")
        }
        self.assetFiles = assets
    }

    static func parseStrings(_ data: Data, path: String) throws(TemplateError) -> [String: String] {
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(file: path) }
        do {
            let table = try TOMLTable(string: text)
            var result: [String: String] = [:]
            for (key, value) in table {
                guard let string = value.string else {
                    throw TemplateError.broken(file: path, line: 0, column: 0, reason: "\(key) is not a string")
                }
                result[key] = string
            }
            return result
        } catch let error as TemplateError {
            throw error
        } catch let error as TOMLParseError {
            throw .broken(
                file: path, line: Int(error.source.begin.line), column: Int(error.source.begin.column),
                reason: error.description)
        } catch {
            throw .broken(file: path, line: 0, column: 0, reason: "\(error)")
        }
    }

    /// The words of `language`: its own file's, then English for any it lacks.
    func words(_ language: String?) -> [String: String] {
        var result = strings[""] ?? [:]
        for candidate in VoicemailTemplates.languageCandidates(language?.lowercased()).reversed() {
            if let own = strings[candidate] { result.merge(own) { _, new in new } }
        }
        return result
    }

    /// The best language of an `Accept-Language` header that has words here, or nil (English).
    func language(accepting header: String?) -> String? {
        guard let header else { return nil }
        var best: (tag: String, q: Double)?
        for item in header.split(separator: ",").prefix(20) {
            let parts = item.split(separator: ";")
            let tag = parts.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                if pair.count == 2, pair[0] == "q", let value = Double(pair[1]) { q = value }
            }
            guard q > 0, !tag.isEmpty else { continue }
            let known =
                tag.hasPrefix("en")
                || VoicemailTemplates.languageCandidates(tag).contains { languages.contains($0) }
            if known, q > (best?.q ?? 0) { best = (tag, q) }
        }
        guard let tag = best?.tag, !tag.hasPrefix("en") else { return nil }
        return tag
    }

    /// `page` inside the layout, with `values` and the words `t` of `language`.
    func render(_ page: String, language: String?, values: [String: Any]) -> String {
        var values = values
        values["t"] = words(language)
        values["lang"] = language ?? "en"
        values["body"] = library.render(values, withTemplate: page) ?? ""
        return library.render(values, withTemplate: "layout") ?? ""
    }
}
