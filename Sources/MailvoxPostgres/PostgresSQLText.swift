/// The two rewrites the driver makes to the seam's SQL before PostgreSQL sees it: `?`
/// placeholders numbered `$1 … $n`, and a migration's text cut into single statements (the
/// extended protocol takes one statement per query).
///
/// Both skip what is not SQL to rewrite: 'string literals' (with '' inside), E'escape strings'
/// (with \' inside), "quoted identifiers", $tag$ dollar-quoted bodies $tag$, -- line comments
/// and /* nested block comments */. A `?` anywhere else is a placeholder (the jsonb `?`
/// operators are not used by Mailvox).
public enum PostgresSQLText {
    /// `sql` with each `?` outside literals and comments replaced by `$1`, `$2`, …, and how many there were.
    public static func numberingPlaceholders(_ sql: String) -> (sql: String, count: Int) {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 8)
        var count = 0
        scan(sql) { piece, isCode in
            guard isCode else {
                output += piece
                return
            }
            for character in piece {
                if character == "?" {
                    count += 1
                    output += "$\(count)"
                } else {
                    output.append(character)
                }
            }
        }
        return (output, count)
    }

    /// `sql` cut at each `;` outside literals and comments, each statement trimmed, empty ones dropped.
    public static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        scan(sql) { piece, isCode in
            guard isCode else {
                current += piece
                return
            }
            for character in piece {
                if character == ";" {
                    statements.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
        }
        statements.append(current)
        return statements.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// Calls `emit` with consecutive pieces of `sql`: code (`true`) or a literal or comment
    /// (`false`), which together are the whole text. An unterminated literal runs to the end.
    static func scan(_ sql: String, _ emit: (Substring, Bool) -> Void) {
        let text = Array(sql.unicodeScalars)
        var index = 0
        var codeStart = 0
        func flushCode(upTo end: Int) {
            if end > codeStart { emit(substring(sql, text, codeStart, end), true) }
        }
        while index < text.count {
            let character = text[index]
            let next: Unicode.Scalar? = index + 1 < text.count ? text[index + 1] : nil
            var end: Int? = nil
            switch character {
            case "'":
                // E'…' takes backslash escapes; the E is part of the literal's start.
                let escapes =
                    index > 0 && (text[index - 1] == "E" || text[index - 1] == "e")
                    && (index < 2 || !isIdentifier(text[index - 2]))
                end = quoted(text, from: index, quote: "'", backslashEscapes: escapes)
            case "\"":
                end = quoted(text, from: index, quote: "\"", backslashEscapes: false)
            case "-" where next == "-":
                var stop = index + 2
                while stop < text.count && text[stop] != "\n" { stop += 1 }
                end = stop
            case "/" where next == "*":
                end = blockComment(text, from: index)
            case "$" where index == 0 || !isIdentifier(text[index - 1]):
                end = dollarQuoted(text, from: index)
            default:
                break
            }
            if let end {
                flushCode(upTo: index)
                emit(substring(sql, text, index, end), false)
                index = end
                codeStart = end
            } else {
                index += 1
            }
        }
        flushCode(upTo: text.count)
    }

    private static func substring(_ sql: String, _ text: [Unicode.Scalar], _ start: Int, _ end: Int) -> Substring {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text[start..<end])
        return Substring(String(view))
    }

    private static func isIdentifier(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
    }

    /// The index just past the quote closing the one at `start` ('' or "" stay inside).
    private static func quoted(
        _ text: [Unicode.Scalar], from start: Int, quote: Unicode.Scalar, backslashEscapes: Bool
    )
        -> Int
    {
        var index = start + 1
        while index < text.count {
            if backslashEscapes && text[index] == "\\" {
                index += 2
                continue
            }
            if text[index] == quote {
                if index + 1 < text.count && text[index + 1] == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return text.count
    }

    private static func blockComment(_ text: [Unicode.Scalar], from start: Int) -> Int {
        var depth = 0
        var index = start
        while index < text.count {
            if text[index] == "/" && index + 1 < text.count && text[index + 1] == "*" {
                depth += 1
                index += 2
            } else if text[index] == "*" && index + 1 < text.count && text[index + 1] == "/" {
                depth -= 1
                index += 2
                if depth == 0 { return index }
            } else {
                index += 1
            }
        }
        return text.count
    }

    /// `$tag$ … $tag$` (the tag may be empty); nil when the `$` starts no such quote (`$1`).
    private static func dollarQuoted(_ text: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start + 1
        while index < text.count && text[index] != "$" {
            let scalar = text[index]
            // A tag is an identifier: no leading digit, so `$1` is a parameter, not a quote.
            guard isIdentifier(scalar), !(index == start + 1 && ("0"..."9").contains(scalar)) else { return nil }
            index += 1
        }
        guard index < text.count else { return nil }
        let delimiter = Array(text[start...index])
        var search = index + 1
        while search + delimiter.count <= text.count {
            if Array(text[search..<search + delimiter.count]) == delimiter { return search + delimiter.count }
            search += 1
        }
        return text.count
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
