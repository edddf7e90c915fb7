/// Text from outside (file names, client input) made safe to put into a log line.
///
/// A drop-folder file named `x\nlevel=error …` or holding ANSI escapes could otherwise forge
/// log records or repaint an operator's terminal. Control characters are rendered the way
/// Swift writes them in a literal — `\n`, `\r`, `\t`, `\u{1b}` — as are invisible format
/// characters (bidi overrides, zero-width joiners) and the Unicode line and paragraph
/// separators; a backslash is doubled so an escape can never be faked by the name itself.
public enum LogText {
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                switch scalar.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator:
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                default:
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

extension String {
    /// This text with control and invisible characters escaped (`LogText.escaped`).
    public var logEscaped: String { LogText.escaped(self) }
}
