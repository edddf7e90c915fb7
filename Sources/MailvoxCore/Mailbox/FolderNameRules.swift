/// What makes a folder name acceptable, whoever makes the folder (IMAP, the web, the CLI):
/// one rule set, so a name one door refuses cannot come in through another. Names are UTF-8
/// with `/` between hierarchy levels.
///
/// A level may not be empty, `.` or `..`: exported as Maildir++ (`.` + levels joined by `.`),
/// the name `.` became the directory `..`, outside the export. The depth is capped so a
/// CREATE cannot make hundreds of parents at once.
public enum FolderNameRules {
    /// The hierarchy delimiter (IMAP LIST's `"/"`).
    public static let delimiter: Character = "/"
    /// Most levels a name may have: `a/b/c` has 3. Deeper than any real filing scheme, small
    /// enough that one CREATE makes at most this many folders.
    public static let maxDepth = 16
    /// Most UTF-8 octets of a whole name.
    public static let maxBytes = 255

    /// Why `name` cannot be a folder name, or nil when it can. INBOX in any case is fine here;
    /// normalising its spelling is the store's business.
    public static func problem(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= maxBytes else { return "must be 1–\(maxBytes) bytes" }
        if let problem = hierarchyProblem(name) { return problem }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "*" || $0 == "%" }
        ) {
            return "control characters, '*' and '%' are not allowed"
        }
        return nil
    }

    /// Why the levels of `name` are not acceptable (empty, `.`, `..`, too many), or nil.
    public static func hierarchyProblem(_ name: String) -> String? {
        let levels = name.split(separator: delimiter, omittingEmptySubsequences: false)
        if levels.contains(where: \.isEmpty) {
            return "empty level (a leading, trailing or doubled '/')"
        }
        if levels.contains(where: { $0 == "." || $0 == ".." }) {
            return "'.' and '..' cannot be a level of a folder name"
        }
        if levels.count > maxDepth {
            return "more than \(maxDepth) levels deep"
        }
        return nil
    }
}
