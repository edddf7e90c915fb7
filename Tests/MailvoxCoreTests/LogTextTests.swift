import MailvoxCore
import Testing

/// `LogText`: names from outside cannot break a log line or reach the terminal raw.
@Suite struct LogTextTests {
    @Test func controlCharactersAreRenderedAsEscapes() {
        #expect(LogText.escaped("a\nlevel=error forged") == #"a\nlevel=error forged"#)
        #expect("\u{1b}[31mred\u{1b}[0m".logEscaped == #"\u{1b}[31mred\u{1b}[0m"#)
        #expect("tab\there\r\u{7f}\u{0}".logEscaped == #"tab\there\r\u{7f}\u{0}"#)
        // Bidi overrides and line separators are invisible tricks too.
        #expect("abc\u{202e}gpj.wav\u{2028}".logEscaped == #"abc\u{202e}gpj.wav\u{2028}"#)
        // A backslash in the name cannot pose as an escape.
        #expect(#"a\nb"#.logEscaped == #"a\\nb"#)
    }

    @Test func ordinaryNamesAreUnchanged() {
        for name in ["msg0001.wav", "Grüße von Zoë.mp3", "通話 1.flac", "a b (2).wav", "📞.wav"] {
            #expect(name.logEscaped == name)
        }
    }
}
