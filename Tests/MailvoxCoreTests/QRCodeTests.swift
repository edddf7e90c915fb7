import Foundation
import Testing

@testable import MailvoxCore

/// `QRCode`: module for module the symbols of an independent encoder (Debian's python3-qrcode, told the same
/// version, error correction and mask), and readable by a real scanner (zbarimg from zbar-tools).
@Suite struct QRCodeTests {
    static let enrolmentURI =
        "otpauth://totp/Mailvox:alice%40example.org?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        + "&issuer=Mailvox&algorithm=SHA1&digits=6&period=30"

    @Test func symbolsMatchTheReferenceEncoder() throws {
        let uri = Array(Self.enrolmentURI.utf8)
        var inputs: [(name: String, bytes: [UInt8], level: QRCode.ErrorCorrection, mask: Int?)] = [
            ("empty", [], .medium, nil),
            ("one byte", Array("A".utf8), .low, nil),
            ("short", Array("Mailvox".utf8), .high, nil),
            ("UTF-8", Array("Grüße, Zoë 通話".utf8), .quartile, nil),
        ]
        for level in QRCode.ErrorCorrection.allCases {
            inputs.append(("enrolment URI, \(level)", uri, level, nil))
            inputs.append(("bytes 0...255, \(level)", [UInt8](0...255), level, nil))
        }
        for mask in 0..<8 { inputs.append(("enrolment URI, mask \(mask)", uri, .medium, mask)) }

        let symbols = try inputs.map { try QRCode(encoding: $0.bytes, errorCorrection: $0.level, mask: $0.mask) }
        let references = try ReferenceEncoder.encode(
            zip(inputs, symbols).map { input, symbol in (input.bytes, input.level, symbol.mask, true) })
        for (input, (symbol, reference)) in zip(inputs, zip(symbols, references)) {
            compare(symbol, with: reference, input.name)
        }
        // Masks chosen by the penalty rules, not always the same one.
        #expect(Set(symbols.prefix(12).map(\.mask)).count > 1)
    }

    /// At every version and level, the longest input that fits and one byte more: the versions python-qrcode
    /// chooses. Whole symbols for each version's longest input, the level turning with the version: every version's
    /// alignment patterns and version information, and the count field growing from 8 to 16 bits at version 10.
    @Test func versionBoundariesMatchTheReferenceEncoder() throws {
        var random = SplitMix64(seed: 18004)
        let levels = QRCode.ErrorCorrection.allCases
        var inputs: [(bytes: [UInt8], level: QRCode.ErrorCorrection, mask: Int, matrix: Bool)] = []
        var expectedVersions: [Int] = []
        for version in 1...40 {
            for level in levels {
                let capacity = QRCode.byteCapacity(version: version, level)
                for length in version < 40 ? [capacity, capacity + 1] : [capacity] {
                    let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                    inputs.append((bytes, level, version % 8, length == capacity && level == levels[version % 4]))
                    expectedVersions.append(length == capacity ? version : version + 1)
                }
            }
        }
        let references = try ReferenceEncoder.encode(inputs)
        for (index, input) in inputs.enumerated() {
            let name = "\(input.bytes.count) bytes at \(input.level)"
            let version = try QRCode.smallestVersion(holding: input.bytes.count, input.level)
            #expect(version == expectedVersions[index], "\(name)")
            #expect(references[index].version == expectedVersions[index], "\(name): python-qrcode's version")
            guard input.matrix else { continue }
            // Forced masks spare 8 penalty evaluations per symbol; the test above compares chosen masks.
            let symbol = try QRCode(encoding: input.bytes, errorCorrection: input.level, mask: input.mask)
            compare(symbol, with: references[index], name)
        }
        #expect(inputs.count { $0.matrix } == 40)
    }

    /// ISO/IEC 18004 Table 9 beside python-qrcode's copy, for every version and level: the number of blocks and the
    /// error correction codewords in each (the symbols above check how the codewords are split and interleaved).
    @Test func blockStructureMatchesTheReferenceEncoder() throws {
        let reference = try ReferenceEncoder.blockStructure()
        for level in QRCode.ErrorCorrection.allCases {
            let ours = (1...40).map {
                [CapacityTable.blockCount($0, level), CapacityTable.errorCorrectionCodewords($0, level)]
            }
            #expect(ours == reference[ReferenceEncoder.letter(level)], "at \(level)")
        }
    }

    /// ISO/IEC 18004 Table 7's byte-mode capacities of versions 1, 10 and 40.
    @Test func capacitiesAreTheStandardsAndOneMoreByteIsTooLong() throws {
        let capacities: [(QRCode.ErrorCorrection, version1: Int, version10: Int, version40: Int)] = [
            (.low, 17, 271, 2953), (.medium, 14, 213, 2331), (.quartile, 11, 151, 1663), (.high, 7, 119, 1273),
        ]
        func version(holding count: Int, _ level: QRCode.ErrorCorrection) throws -> Int {
            try QRCode(encoding: [UInt8](repeating: 0x41, count: count), errorCorrection: level).version
        }
        for (level, version1, version10, version40) in capacities {
            #expect(try version(holding: version1, level) == 1)
            #expect(try version(holding: version1 + 1, level) == 2)
            #expect(try version(holding: version10, level) == 10)
            #expect(try version(holding: version10 + 1, level) == 11)
            #expect(try version(holding: version40, level) == 40)
            #expect(throws: QRCodeError.tooLong(bytes: version40 + 1, maximum: version40)) {
                try QRCode(encoding: [UInt8](repeating: 0x41, count: version40 + 1), errorCorrection: level)
            }
        }
        #expect("\(QRCodeError.tooLong(bytes: 3000, maximum: 2331))".contains("at most 2331"))
    }

    @Test func zbarimgReadsTheEnrolmentURI() throws {
        for level in QRCode.ErrorCorrection.allCases {
            let symbol = try QRCode(encoding: Array(Self.enrolmentURI.utf8), errorCorrection: level)
            let decoded = try ZBar.decode(symbol)
            #expect(String(decoding: decoded, as: UTF8.self) == Self.enrolmentURI, "at \(level)")
        }
    }

    @Test func zbarimgReadsBinaryBytes() throws {
        let bytes = [UInt8](0...255)
        let decoded = try ZBar.decode(try QRCode(encoding: bytes), binary: true)
        #expect(Array(decoded) == bytes)
    }

    /// The SVG's rectangles, read back, cover exactly the dark modules, shifted by the quiet zone.
    @Test func svgDrawsExactlyTheDarkModules() throws {
        let symbol = try QRCode(encoding: Array(Self.enrolmentURI.utf8))
        let scale = 3
        let svg = symbol.svg(moduleSize: scale)
        let side = (symbol.size + 8) * scale
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(side)\" height=\"\(side)\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.components(separatedBy: "<path").count == 2)
        for forbidden in ["<script", "href", "url(", "<image", "<foreignObject", " on"] {
            #expect(!svg.contains(forbidden), "\(forbidden)")
        }

        let path = try #require(svg.firstMatch(of: #/ d="([^"]*)"/#)?.output.1)
        let rectangle = #/M(\d+),(\d+)h(\d+)v(\d+)h-(\d+)z/#
        var drawn = Set<[Int]>()
        var parsedLength = 0
        for match in path.matches(of: rectangle) {
            let (_, x, y, width, height, back) = match.output
            let numbers = [x, y, width, height, back].map { Int($0)! }
            parsedLength += match.output.0.count
            #expect(numbers[3] == scale && numbers[4] == numbers[2])
            #expect(numbers[0] % scale == 0 && numbers[1] % scale == 0 && numbers[2] % scale == 0)
            for column in numbers[0] / scale..<(numbers[0] + numbers[2]) / scale {
                drawn.insert([column - 4, numbers[1] / scale - 4])
            }
        }
        #expect(parsedLength == path.count, "the path holds only the rectangles read")
        var dark = Set<[Int]>()
        for y in 0..<symbol.size {
            for x in 0..<symbol.size where symbol.isDark(x: x, y: y) { dark.insert([x, y]) }
        }
        #expect(drawn == dark)
        #expect(!symbol.isDark(x: -1, y: 0) && !symbol.isDark(x: 0, y: symbol.size))
    }

    /// Each rule of ISO/IEC 18004 Table 11 on a hand-made grid.
    @Test func penaltyRules() {
        let (dark, light) = (true, false)
        #expect(Penalty.runs(in: [dark, dark, dark, dark]) == 0)
        #expect(Penalty.runs(in: [dark, dark, dark, dark, dark]) == 3)
        #expect(Penalty.runs(in: Array(repeating: light, count: 5) + Array(repeating: dark, count: 7)) == 3 + 5)

        #expect(Penalty.blocks(Array(repeating: dark, count: 9), size: 3) == 4 * 3)
        #expect(Penalty.blocks([dark, light, dark, light, dark, light, dark, light, dark], size: 3) == 0)
        #expect(Penalty.blocks([light, light, dark, light, light, dark, dark, dark, dark], size: 3) == 3)

        let finder: [Bool] = [dark, light, dark, dark, dark, light, dark]
        // Alone in a line, light (the quiet zone) lies four deep on both sides: both patterns.
        #expect(Penalty.finderLikePatterns(in: finder) == 80)
        #expect(Penalty.finderLikePatterns(in: [dark] + Array(repeating: light, count: 4) + finder + [dark]) == 40)
        #expect(
            Penalty.finderLikePatterns(in: [dark, light, light, light] + finder + [light, light, light, dark]) == 0)

        func grid(darkCount: Int) -> [Bool] { (0..<441).map { $0 < darkCount } }
        #expect(Penalty.balance(grid(darkCount: 0)) == 100)
        #expect(Penalty.balance(grid(darkCount: 220)) == 0)
        #expect(Penalty.balance(grid(darkCount: 199)) == 0)  // 45.1 %
        #expect(Penalty.balance(grid(darkCount: 198)) == 10)  // 44.9 %
        #expect(Penalty.balance(grid(darkCount: 441)) == 100)
    }

    @Test func theChosenMaskScoresLowest() throws {
        for level in QRCode.ErrorCorrection.allCases {
            let bytes = Array(Self.enrolmentURI.utf8)
            let chosen = try QRCode(encoding: bytes, errorCorrection: level)
            for mask in 0..<8 {
                let other = try QRCode(encoding: bytes, errorCorrection: level, mask: mask)
                #expect(chosen.penalty <= other.penalty, "mask \(mask) scores lower than \(chosen.mask) at \(level)")
                if mask == chosen.mask { #expect(other == chosen) }
            }
        }
    }

    private func compare(
        _ symbol: QRCode, with reference: ReferenceEncoder.Symbol, _ name: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard symbol.version == reference.version else {
            Issue.record(
                "\(name): version \(symbol.version), python-qrcode's \(reference.version)",
                sourceLocation: sourceLocation)
            return
        }
        guard !reference.rows.isEmpty else { return }  // the version alone was asked for
        let rows = (0..<symbol.size).map { y in String((0..<symbol.size).map { symbol.isDark(x: $0, y: y) ? "1" : "0" })
        }
        guard rows != reference.rows else { return }
        let y = rows.indices.first { rows[$0] != reference.rows[$0] } ?? 0
        let x = zip(rows[y], reference.rows[y]).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
        Issue.record(
            "\(name) (version \(symbol.version), mask \(symbol.mask)): first differing module x=\(x) y=\(y)",
            sourceLocation: sourceLocation)
    }
}

/// Debian's python3-qrcode, given the same bytes, error correction and mask: it picks the version itself.
private enum ReferenceEncoder {
    struct Symbol: Decodable {
        var version: Int
        var rows: [String]
    }

    private struct Case: Encodable {
        var hex: String
        var level: String
        var mask: Int
        /// False asks only for the version python-qrcode chooses, which spares its slow Reed–Solomon.
        var matrix: Bool
    }

    static func letter(_ level: QRCode.ErrorCorrection) -> String {
        switch level {
        case .low: "L"
        case .medium: "M"
        case .quartile: "Q"
        case .high: "H"
        }
    }

    static func encode(
        _ inputs: [(bytes: [UInt8], level: QRCode.ErrorCorrection, mask: Int, matrix: Bool)]
    ) throws -> [Symbol] {
        let cases = inputs.map { input in
            Case(
                hex: input.bytes.map { String(format: "%02x", $0) }.joined(), level: letter(input.level),
                mask: input.mask, matrix: input.matrix)
        }
        let directory = try Tool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let casesFile = directory.appendingPathComponent("cases.json")
        try JSONEncoder().encode(cases).write(to: casesFile)
        let script = """
            symbols = []
            for case in json.load(open(sys.argv[1])):
                qr = qrcode.QRCode(error_correction=levels[case["level"]], mask_pattern=case["mask"], border=0)
                qr.add_data(util.QRData(bytes.fromhex(case["hex"]), mode=util.MODE_8BIT_BYTE))
                if not case["matrix"]:
                    qr.best_fit()
                    symbols.append({"version": qr.version, "rows": []})
                    continue
                qr.make(fit=True)
                symbols.append({"version": qr.version,
                                "rows": ["".join("1" if m else "0" for m in row) for row in qr.modules]})
            json.dump(symbols, sys.stdout)
            """
        let symbols = try JSONDecoder().decode([Symbol].self, from: python(script, casesFile.path))
        try #require(symbols.count == inputs.count)
        return symbols
    }

    /// By level letter, for versions 1...40: [blocks, error correction codewords per block].
    static func blockStructure() throws -> [String: [[Int]]] {
        let script = """
            json.dump({letter: [[len(blocks), blocks[0].total_count - blocks[0].data_count]
                                for blocks in (base.rs_blocks(version, level) for version in range(1, 41))]
                       for letter, level in levels.items()}, sys.stdout)
            """
        return try JSONDecoder().decode([String: [[Int]]].self, from: python(script))
    }

    private static func python(_ script: String, _ arguments: String...) throws -> Data {
        let prelude = """
            import json, sys
            try:
                import qrcode
                from qrcode import base, constants, util
            except ImportError:
                sys.exit("python3-qrcode is missing: run scripts/bootstrap test (apt-get install python3-qrcode)")
            levels = {"L": constants.ERROR_CORRECT_L, "M": constants.ERROR_CORRECT_M,
                      "Q": constants.ERROR_CORRECT_Q, "H": constants.ERROR_CORRECT_H}
            """
        // Debian's python3: a pyenv one earlier on PATH lacks the distribution's modules.
        let result = try Tool.run("/usr/bin/python3", ["-c", prelude + "\n" + script] + arguments)
        guard result.status == 0 else { throw Tool.Failure(tool: "python3-qrcode", message: result.errors) }
        return result.output
    }
}

/// zbarimg (zbar-tools) reading the symbol from a greymap drawn at 4 pixels a module with a 4-module quiet zone.
private enum ZBar {
    static func decode(_ symbol: QRCode, binary: Bool = false) throws -> Data {
        let scale = 4
        let side = (symbol.size + 8) * scale
        var image = Data("P5\n\(side) \(side)\n255\n".utf8)
        for row in 0..<side {
            for column in 0..<side {
                image.append(symbol.isDark(x: column / scale - 4, y: row / scale - 4) ? 0 : 255)
            }
        }
        let directory = try Tool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("symbol.pgm")
        try image.write(to: file)
        let options = ["-q", "--raw", "-Sdisable", "-Sqrcode.enable"] + (binary ? ["-Sbinary"] : [])
        let result = try Tool.run("/usr/bin/zbarimg", options + [file.path])
        guard result.status == 0 else {
            throw Tool.Failure(tool: "zbarimg", message: "status \(result.status): \(result.errors)")
        }
        // --raw ends the text with a newline; binary mode writes the bytes alone.
        return binary || result.output.last != 0x0A ? result.output : result.output.dropLast()
    }
}

/// MailvoxTestSupport's `Subprocess` would do, but MailvoxCoreTests does not depend on that target: this runs a
/// tool reading its output while it runs, so a long answer cannot stall on a full pipe.
private enum Tool {
    struct Failure: Error, CustomStringConvertible {
        var tool: String
        var message: String
        var description: String { "\(tool) failed: \(message)" }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: Data, errors: String)
    {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw Failure(tool: executable, message: "missing: run scripts/bootstrap test")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaints = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, printed, String(decoding: complaints, as: UTF8.self))
    }

    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-qr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
