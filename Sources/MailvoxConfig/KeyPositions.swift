/// Where each `section.key` sits in a TOML text, so errors about a value can name its line.
///
/// TOMLKit reports positions for syntax errors only; this scan covers the plain
/// `[section]` / `key = value` shape the config uses. A key it cannot place gets no line.
struct KeyPositions {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var section = ""
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                section = line[line.index(after: line.startIndex)..<close].trimmingSpaces()
                lines[section] = lines[section] ?? index + 1
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                var key = line[..<equals].trimmingSpaces()
                if key.hasPrefix("\"") && key.hasSuffix("\"") && key.count >= 2 {
                    key = String(key.dropFirst().dropLast())
                }
                let path = section.isEmpty ? key : section + "." + key
                lines[path] = lines[path] ?? index + 1
            }
        }
    }

    func line(of path: String) -> Int? { lines[path] }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(
            self.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()
        )
    }
}
