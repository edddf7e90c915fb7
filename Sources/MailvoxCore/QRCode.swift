/// A QR Code symbol (ISO/IEC 18004) holding bytes in byte mode: the web inbox shows a TOTP enrolment URI
/// (`otpauth://totp/…`) this way, for a phone's authenticator app to scan.
public struct QRCode: Sendable, Equatable {
    /// How much of the symbol can be damaged and still read: about 7, 15, 25 and 30 % of the codewords.
    public enum ErrorCorrection: Sendable, CaseIterable { case low, medium, quartile, high }

    /// 1...40, the smallest version that holds the bytes at the chosen error correction.
    public let version: Int
    /// Modules per side, `17 + 4 * version`, without the quiet zone.
    public let size: Int
    let errorCorrection: ErrorCorrection
    /// The data mask pattern, 0...7 (ISO/IEC 18004 §7.8.2).
    let mask: Int
    /// Row-major, `true` for a dark module.
    private let modules: [Bool]

    /// Whether the module in column `x`, row `y` is dark; outside the symbol (the quiet zone) everything is light.
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// Encodes `bytes` in byte mode in the smallest version that holds them, with the data mask that the
    /// penalty rules of ISO/IEC 18004 §7.8.3 score lowest.
    public init(encoding bytes: [UInt8], errorCorrection: ErrorCorrection = .medium) throws(QRCodeError) {
        try self.init(encoding: bytes, errorCorrection: errorCorrection, mask: nil)
    }

    /// `forcedMask` (0...7) replaces the mask the penalty rules would choose, so that tests can compare the
    /// symbol with a reference encoder told to use the same mask.
    init(encoding bytes: [UInt8], errorCorrection: ErrorCorrection, mask forcedMask: Int?) throws(QRCodeError) {
        precondition(forcedMask.map { (0..<8).contains($0) } ?? true, "a QR data mask is 0...7")
        let version = try Self.smallestVersion(holding: bytes.count, errorCorrection)
        var unmasked = Symbol(version: version)
        unmasked.place(Self.codewords(for: bytes, version: version, errorCorrection))
        let mask: Int
        if let forcedMask {
            mask = forcedMask
        } else {
            let penalties = (0..<8).map {
                Penalty.total(unmasked.masked($0, errorCorrection).dark, size: unmasked.size)
            }
            // The first of equal scores, as the standard's order of evaluation would pick.
            mask = penalties.indices.min { penalties[$0] < penalties[$1] }!
        }
        self.version = version
        self.size = unmasked.size
        self.errorCorrection = errorCorrection
        self.mask = mask
        self.modules = unmasked.masked(mask, errorCorrection).dark
    }

    /// The penalty score of the finished symbol (ISO/IEC 18004 §7.8.3).
    var penalty: Int { Penalty.total(modules, size: size) }

    /// An SVG drawing, `moduleSize` user units per module, with a 4-module quiet zone; one <path> of dark modules,
    /// no script, no external refs.
    public func svg(moduleSize: Int = 4) -> String {
        let scale = max(1, moduleSize)
        let quietZone = 4  // ISO/IEC 18004 §6.3.8: four modules of light on every side
        let side = (size + 2 * quietZone) * scale
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                let start = x
                while isDark(x: x, y: y) { x += 1 }
                // One rectangle per horizontal run of dark modules keeps the path short.
                let width = (x - start) * scale
                path += "M\((start + quietZone) * scale),\((y + quietZone) * scale)h\(width)v\(scale)h-\(width)z"
            }
        }
        // The light background is drawn too, so the code stays readable on a dark page.
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(side)\" height=\"\(side)\""
            + " viewBox=\"0 0 \(side) \(side)\" shape-rendering=\"crispEdges\">"
            + "<rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/><path fill=\"#000\" d=\"\(path)\"/></svg>"
    }
}

/// Why bytes could not be made into a QR code.
public enum QRCodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// More bytes than version 40 holds at the chosen error correction.
    case tooLong(bytes: Int, maximum: Int)

    public var description: String {
        switch self {
        case .tooLong(let bytes, let maximum):
            "\(bytes) bytes do not fit in a QR code, which holds at most \(maximum) at this error correction: "
                + "shorten the text or choose a lower error correction"
        }
    }
}

// MARK: - Codewords

extension QRCode {
    /// The smallest version holding `byteCount` bytes at `errorCorrection`.
    static func smallestVersion(holding byteCount: Int, _ errorCorrection: ErrorCorrection) throws(QRCodeError) -> Int {
        guard let version = (1...40).first(where: { byteCapacity(version: $0, errorCorrection) >= byteCount }) else {
            throw QRCodeError.tooLong(bytes: byteCount, maximum: byteCapacity(version: 40, errorCorrection))
        }
        return version
    }

    /// How many bytes byte mode fits into `version`: the data codewords less the mode indicator (4 bits) and the
    /// character count (8 bits up to version 9, 16 from version 10; ISO/IEC 18004 Table 3).
    static func byteCapacity(version: Int, _ errorCorrection: ErrorCorrection) -> Int {
        (dataCodewordCount(version: version, errorCorrection) * 8 - 4 - characterCountWidth(version: version)) / 8
    }

    static func dataCodewordCount(version: Int, _ errorCorrection: ErrorCorrection) -> Int {
        rawCodewordCount(version: version) - CapacityTable.errorCorrectionCodewords(version, errorCorrection)
            * CapacityTable.blockCount(version, errorCorrection)
    }

    private static func characterCountWidth(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// Codewords that fit beside the function patterns (ISO/IEC 18004 Table 1, "number of data modules" / 8).
    private static func rawCodewordCount(version: Int) -> Int {
        var modules = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignmentPerSide = version / 7 + 2
            modules -= (25 * alignmentPerSide - 10) * alignmentPerSide - 55
            if version >= 7 { modules -= 36 }  // the two version information blocks
        }
        return modules / 8
    }

    /// The final codeword sequence (ISO/IEC 18004 §7.4–7.6): mode, count, bytes, terminator and padding, split
    /// into blocks, each given its Reed–Solomon codewords, then interleaved.
    private static func codewords(for bytes: [UInt8], version: Int, _ errorCorrection: ErrorCorrection) -> [UInt8] {
        let dataCount = dataCodewordCount(version: version, errorCorrection)
        var bits = BitWriter()
        bits.append(0b0100, width: 4)  // byte mode
        bits.append(bytes.count, width: characterCountWidth(version: version))
        for byte in bytes { bits.append(Int(byte), width: 8) }
        // §7.4.9: a terminator of up to four zero bits, shortened when the symbol is full; the writer's
        // last byte is zero-filled, which aligns to the codeword boundary.
        bits.append(0, width: min(4, dataCount * 8 - bits.count))
        var data = bits.bytes
        var pad: UInt8 = 0xEC
        while data.count < dataCount {
            data.append(pad)
            pad ^= 0xEC ^ 0x11  // the pad codewords alternate 11101100 and 00010001
        }

        let blockCount = CapacityTable.blockCount(version, errorCorrection)
        let correctionCount = CapacityTable.errorCorrectionCodewords(version, errorCorrection)
        let rawCount = rawCodewordCount(version: version)
        // §7.5.2: when the codewords do not divide evenly, the later blocks hold one data codeword more.
        let shortBlockCount = blockCount - rawCount % blockCount
        let shortBlockDataCount = rawCount / blockCount - correctionCount
        let divisor = ReedSolomon.generator(degree: correctionCount)
        var dataBlocks: [ArraySlice<UInt8>] = []
        var correctionBlocks: [[UInt8]] = []
        var offset = 0
        for block in 0..<blockCount {
            let length = shortBlockDataCount + (block < shortBlockCount ? 0 : 1)
            let blockData = data[offset..<offset + length]
            offset += length
            dataBlocks.append(blockData)
            correctionBlocks.append(ReedSolomon.remainder(of: blockData, divisor: divisor))
        }
        // §7.6: the first codeword of every block, then the second, …; error correction after all data.
        var result: [UInt8] = []
        result.reserveCapacity(rawCount)
        for index in 0...shortBlockDataCount {
            for block in dataBlocks where index < block.count { result.append(block[block.startIndex + index]) }
        }
        for index in 0..<correctionCount {
            for block in correctionBlocks { result.append(block[index]) }
        }
        return result
    }
}

/// Bits appended most significant first into bytes.
private struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    mutating func append(_ value: Int, width: Int) {
        for shift in stride(from: width - 1, through: 0, by: -1) {
            if count % 8 == 0 { bytes.append(0) }
            if (value >> shift) & 1 == 1 { bytes[bytes.count - 1] |= 0x80 >> UInt8(count % 8) }
            count += 1
        }
    }
}

/// Reed–Solomon error correction over GF(2⁸) with the QR field polynomial x⁸ + x⁴ + x³ + x² + 1
/// (ISO/IEC 18004 §7.5.2).
private enum ReedSolomon {
    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        guard x != 0, y != 0 else { return 0 }
        return exponent[(logarithm[Int(x)] + logarithm[Int(y)]) % 255]
    }

    /// αⁱ for i in 0..<255, α = 2 being a generator of the field.
    private static let exponent: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 255)
        var value = 1
        for power in 0..<255 {
            table[power] = UInt8(value)
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        return table
    }()

    private static let logarithm: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for power in 0..<255 { table[Int(exponent[power])] = power }
        return table
    }()

    /// The coefficients of (x − α⁰)(x − α¹)…(x − α^(degree−1)), highest power first, its leading 1 left out.
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                coefficients[index] = multiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        return coefficients
    }

    /// The error correction codewords: the remainder of the data polynomial times x^degree divided by the generator.
    static func remainder(of data: ArraySlice<UInt8>, divisor: [UInt8]) -> [UInt8] {
        var remainder = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ remainder.removeFirst()
            remainder.append(0)
            for index in remainder.indices { remainder[index] ^= multiply(divisor[index], factor) }
        }
        return remainder
    }
}

/// ISO/IEC 18004 Table 9: for each version, and in it for levels L, M, Q and H, the number of error correction
/// blocks and the error correction codewords in each block.
enum CapacityTable {
    static func errorCorrectionCodewords(_ version: Int, _ level: QRCode.ErrorCorrection) -> Int {
        table[version - 1][level.tableRow].perBlock
    }

    static func blockCount(_ version: Int, _ level: QRCode.ErrorCorrection) -> Int {
        table[version - 1][level.tableRow].blocks
    }

    private static let table: [[(blocks: Int, perBlock: Int)]] = [
        [(1, 7), (1, 10), (1, 13), (1, 17)],  // 1
        [(1, 10), (1, 16), (1, 22), (1, 28)],  // 2
        [(1, 15), (1, 26), (2, 18), (2, 22)],  // 3
        [(1, 20), (2, 18), (2, 26), (4, 16)],  // 4
        [(1, 26), (2, 24), (4, 18), (4, 22)],  // 5
        [(2, 18), (4, 16), (4, 24), (4, 28)],  // 6
        [(2, 20), (4, 18), (6, 18), (5, 26)],  // 7
        [(2, 24), (4, 22), (6, 22), (6, 26)],  // 8
        [(2, 30), (5, 22), (8, 20), (8, 24)],  // 9
        [(4, 18), (5, 26), (8, 24), (8, 28)],  // 10
        [(4, 20), (5, 30), (8, 28), (11, 24)],  // 11
        [(4, 24), (8, 22), (10, 26), (11, 28)],  // 12
        [(4, 26), (9, 22), (12, 24), (16, 22)],  // 13
        [(4, 30), (9, 24), (16, 20), (16, 24)],  // 14
        [(6, 22), (10, 24), (12, 30), (18, 24)],  // 15
        [(6, 24), (10, 28), (17, 24), (16, 30)],  // 16
        [(6, 28), (11, 28), (16, 28), (19, 28)],  // 17
        [(6, 30), (13, 26), (18, 28), (21, 28)],  // 18
        [(7, 28), (14, 26), (21, 26), (25, 26)],  // 19
        [(8, 28), (16, 26), (20, 30), (25, 28)],  // 20
        [(8, 28), (17, 26), (23, 28), (25, 30)],  // 21
        [(9, 28), (17, 28), (23, 30), (34, 24)],  // 22
        [(9, 30), (18, 28), (25, 30), (30, 30)],  // 23
        [(10, 30), (20, 28), (27, 30), (32, 30)],  // 24
        [(12, 26), (21, 28), (29, 30), (35, 30)],  // 25
        [(12, 28), (23, 28), (34, 28), (37, 30)],  // 26
        [(12, 30), (25, 28), (34, 30), (40, 30)],  // 27
        [(13, 30), (26, 28), (35, 30), (42, 30)],  // 28
        [(14, 30), (28, 28), (38, 30), (45, 30)],  // 29
        [(15, 30), (29, 28), (40, 30), (48, 30)],  // 30
        [(16, 30), (31, 28), (43, 30), (51, 30)],  // 31
        [(17, 30), (33, 28), (45, 30), (54, 30)],  // 32
        [(18, 30), (35, 28), (48, 30), (57, 30)],  // 33
        [(19, 30), (37, 28), (51, 30), (60, 30)],  // 34
        [(19, 30), (38, 28), (53, 30), (63, 30)],  // 35
        [(20, 30), (40, 28), (56, 30), (66, 30)],  // 36
        [(21, 30), (43, 28), (59, 30), (70, 30)],  // 37
        [(22, 30), (45, 28), (62, 30), (74, 30)],  // 38
        [(24, 30), (47, 28), (65, 30), (77, 30)],  // 39
        [(25, 30), (49, 28), (68, 30), (81, 30)],  // 40
    ]
}

extension QRCode.ErrorCorrection {
    fileprivate var tableRow: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }

    /// The two bits the format information carries (ISO/IEC 18004 Table 12): not in the order of strength.
    fileprivate var formatBits: Int {
        switch self {
        case .low: 0b01
        case .medium: 0b00
        case .quartile: 0b11
        case .high: 0b10
        }
    }
}

// MARK: - The module grid

/// The modules while they are drawn, and which belong to function patterns (finders, separators, timing,
/// alignment, format and version information), which the data and the mask leave alone.
private struct Symbol {
    let version: Int
    let size: Int
    private(set) var dark: [Bool]
    private var isFunction: [Bool]

    init(version: Int) {
        self.version = version
        size = 17 + 4 * version
        dark = Array(repeating: false, count: size * size)
        isFunction = dark
        drawTimingPatterns()
        drawFinderPatterns()
        drawAlignmentPatterns()
        drawFormatInformation(0)  // reserves its modules; the real bits follow once the mask is known
        if version >= 7 { drawVersionInformation() }
    }

    private mutating func setFunction(x: Int, y: Int, dark isDark: Bool) {
        dark[y * size + x] = isDark
        isFunction[y * size + x] = true
    }

    private mutating func drawTimingPatterns() {
        for index in 0..<size {
            setFunction(x: 6, y: index, dark: index % 2 == 0)
            setFunction(x: index, y: 6, dark: index % 2 == 0)
        }
    }

    /// The three 7×7 finders with their light separators.
    private mutating func drawFinderPatterns() {
        for (centreX, centreY) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = centreX + dx
                    let y = centreY + dy
                    guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                    let ring = max(abs(dx), abs(dy))
                    setFunction(x: x, y: y, dark: ring != 2 && ring != 4)
                }
            }
        }
    }

    private mutating func drawAlignmentPatterns() {
        let centres = alignmentPatternCentres
        let last = centres.count - 1
        for (row, centreY) in centres.enumerated() {
            for (column, centreX) in centres.enumerated() {
                // None where a finder already stands.
                if (row == 0 && column == 0) || (row == 0 && column == last) || (row == last && column == 0) {
                    continue
                }
                for dy in -2...2 {
                    for dx in -2...2 {
                        setFunction(x: centreX + dx, y: centreY + dy, dark: max(abs(dx), abs(dy)) != 1)
                    }
                }
            }
        }
    }

    /// ISO/IEC 18004 Annex E: 6, then evenly spaced up to `size - 7`, the odd remainder going to the first gap.
    private var alignmentPatternCentres: [Int] {
        guard version > 1 else { return [] }
        let count = version / 7 + 2
        let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2
        return [6] + (0..<count - 1).map { size - 7 - $0 * step }.reversed()
    }

    /// The 15 format bits twice: around the top-left finder, and split between the other two (§7.9.1).
    private mutating func drawFormatInformation(_ bits: Int) {
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        for index in 0...5 { setFunction(x: 8, y: index, dark: bit(index)) }
        setFunction(x: 8, y: 7, dark: bit(6))
        setFunction(x: 8, y: 8, dark: bit(7))
        setFunction(x: 7, y: 8, dark: bit(8))
        for index in 9..<15 { setFunction(x: 14 - index, y: 8, dark: bit(index)) }
        for index in 0..<8 { setFunction(x: size - 1 - index, y: 8, dark: bit(index)) }
        for index in 8..<15 { setFunction(x: 8, y: size - 15 + index, dark: bit(index)) }
        setFunction(x: 8, y: size - 8, dark: true)  // §7.9.1: the module that is always dark
    }

    /// Version 7 and up: the version number and its BCH(18,6) check bits, beside two finders (§7.10).
    private mutating func drawVersionInformation() {
        var remainder = version
        for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
        let bits = version << 12 | remainder
        for index in 0..<18 {
            let isDark = (bits >> index) & 1 == 1
            let across = size - 11 + index % 3
            let down = index / 3
            setFunction(x: across, y: down, dark: isDark)
            setFunction(x: down, y: across, dark: isDark)
        }
    }

    /// §7.7.3: two-module-wide columns from the right, upwards then downwards, skipping the vertical timing
    /// pattern's column and every function module; modules left over (the remainder bits) stay light.
    mutating func place(_ codewords: [UInt8]) {
        let bitCount = codewords.count * 8
        var bitIndex = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            let upward = (right + 1) & 2 == 0
            for step in 0..<size {
                let y = upward ? size - 1 - step : step
                for x in stride(from: right, to: right - 2, by: -1)
                where !isFunction[y * size + x] && bitIndex < bitCount {
                    dark[y * size + x] = (codewords[bitIndex >> 3] >> UInt8(7 - (bitIndex & 7))) & 1 == 1
                    bitIndex += 1
                }
            }
            right -= 2
        }
    }

    /// A copy with data mask `mask` (§7.8.2, Table 10) applied and the format information for it drawn.
    func masked(_ mask: Int, _ errorCorrection: QRCode.ErrorCorrection) -> Symbol {
        var result = self
        for y in 0..<size {
            for x in 0..<size where !isFunction[y * size + x] && Self.maskInverts(mask, x: x, y: y) {
                result.dark[y * size + x].toggle()
            }
        }
        // §7.9.1: BCH(15,5) over the level and mask bits, then XORed with 101010000010010.
        let data = errorCorrection.formatBits << 3 | mask
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        result.drawFormatInformation((data << 10 | remainder) ^ 0x5412)
        return result
    }

    /// Table 10's conditions, with `x` the column (the standard's j) and `y` the row (its i).
    private static func maskInverts(_ mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (x / 3 + y / 2) % 2 == 0
        case 5: x * y % 2 + x * y % 3 == 0
        case 6: (x * y % 2 + x * y % 3) % 2 == 0
        default: ((x + y) % 2 + x * y % 3) % 2 == 0
        }
    }
}

// MARK: - Mask evaluation

/// The penalty rules of ISO/IEC 18004 §7.8.3 (Table 11) over a row-major grid of `size × size` modules; the mask
/// with the lowest total is the one a reader finds easiest.
enum Penalty {
    static func total(_ dark: [Bool], size: Int) -> Int {
        let lines = rowsAndColumns(dark, size: size)
        return lines.reduce(0) { $0 + runs(in: $1) + finderLikePatterns(in: $1) } + blocks(dark, size: size)
            + balance(dark)
    }

    /// N1: each run of five or more modules of one colour in a row or column scores 3, plus 1 per module past five.
    static func runs(in line: [Bool]) -> Int {
        var score = 0
        var run = 0
        var previous: Bool?
        for module in line {
            if module == previous {
                run += 1
            } else {
                if run >= 5 { score += run - 2 }
                run = 1
                previous = module
            }
        }
        return run >= 5 ? score + run - 2 : score
    }

    /// N2: each 2×2 block of one colour scores 3 (overlapping blocks each count).
    static func blocks(_ dark: [Bool], size: Int) -> Int {
        var score = 0
        for y in 0..<size - 1 {
            for x in 0..<size - 1 {
                let module = dark[y * size + x]
                if module == dark[y * size + x + 1] && module == dark[(y + 1) * size + x]
                    && module == dark[(y + 1) * size + x + 1]
                {
                    score += 3
                }
            }
        }
        return score
    }

    /// N3: each dark-light-dark-dark-dark-light-dark run (1:1:3:1:1) with four light modules before or after it,
    /// that is each 10111010000 or 00001011101, scores 40. Outside the symbol counts as light, as the quiet zone
    /// is: a finder-like pattern at the edge looks like a finder to a reader.
    static func finderLikePatterns(in line: [Bool]) -> Int {
        let lightAfter = 0b101_1101_0000
        let lightBefore = 0b000_0101_1101
        var score = 0
        var window = 0  // the last 11 modules, newest in the lowest bit; starts as the light before the line
        for module in line + Array(repeating: false, count: 4) {
            window = ((window << 1) | (module ? 1 : 0)) & 0x7FF
            if window == lightAfter || window == lightBefore { score += 40 }
        }
        return score
    }

    /// N4: 10 for each full 5 % by which the share of dark modules strays from 50 %.
    static func balance(_ dark: [Bool]) -> Int {
        let darkCount = dark.count(where: { $0 })
        return abs(darkCount * 20 - dark.count * 10) / dark.count * 10
    }

    private static func rowsAndColumns(_ dark: [Bool], size: Int) -> [[Bool]] {
        let rows = (0..<size).map { y in Array(dark[y * size..<(y + 1) * size]) }
        let columns = (0..<size).map { x in (0..<size).map { y in dark[y * size + x] } }
        return rows + columns
    }
}
