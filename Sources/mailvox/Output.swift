import Foundation

/// Rows as aligned columns for people; the last column runs free.
func printTable(_ rows: [[String]], header: [String]? = nil) {
    let all = (header.map { [$0] } ?? []) + rows
    guard let columns = all.map(\.count).max(), columns > 0 else { return }
    var widths = [Int](repeating: 0, count: columns)
    for row in all {
        for (index, cell) in row.enumerated() where index < columns - 1 {
            widths[index] = max(widths[index], cell.count)
        }
    }
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index < row.count - 1 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) : cell
        }
        print(cells.joined(separator: "  "))
    }
}

/// A value as pretty JSON with sorted keys and ISO 8601 dates, for tools.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The first line of standard input (trailing newline optional): how passwords arrive.
func readFirstLineOfStandardInput() -> String {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    let text = String(decoding: data, as: UTF8.self)
    // "\r\n" is one Character in Swift, so split on any newline rather than on "\n".
    return text.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline).first.map(
        String.init)
        ?? ""
}
