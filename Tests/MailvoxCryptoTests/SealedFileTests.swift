import Crypto
import Foundation
import MailvoxCrypto
import Testing

/// MVX1: every way a file can be wrong has its own error, and a range reads only what it needs.
@Suite struct SealedFileTests {
    let owner = Curve25519.KeyAgreement.PrivateKey()
    let chunk = 1024

    func seal(_ plaintext: Data, as name: String = "mailbox:1000") throws -> Data {
        try SealedFile.seal(plaintext, owner: name, recipient: owner.publicKey.rawRepresentation, chunkSize: chunk)
    }

    func open(
        _ file: Data, as name: String = "mailbox:1000", key: Curve25519.KeyAgreement.PrivateKey? = nil
    )
        throws -> SealedFileReader
    {
        let path = try temporaryDirectory() + "/message"
        try file.write(to: URL(fileURLWithPath: path))
        return try SealedFileReader(path: path, owner: name, privateKey: key ?? owner)
    }

    func pattern(_ count: Int) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 251) }) }

    /// The header's size: the file less the chunks' ciphertext and tags.
    func headerSize(of file: Data, plaintextSize: Int) -> Int {
        let chunks = max(1, (plaintextSize + chunk - 1) / chunk)
        return file.count - plaintextSize - chunks * 16
    }

    @Test(arguments: [0, 1, 1023, 1024, 1025, 5000])
    func roundTrips(_ size: Int) throws {
        let plaintext = pattern(size)
        let file = try seal(plaintext)
        #expect(file.prefix(4) == Data("MVX1".utf8))
        #expect(file.range(of: plaintext.prefix(64)) == nil || size < 16)
        let reader = try open(file)
        #expect(reader.plaintextSize == size)
        #expect(try reader.readAll() == plaintext)
        try reader.verify()
    }

    @Test func rangesDecryptOnlyWhatTheyTouch() throws {
        let plaintext = pattern(5000)
        var file = try seal(plaintext)
        let header = headerSize(of: file, plaintextSize: 5000)
        // Damage chunk 4 (bytes 4096..<5000): ranges inside chunks 0–3 must still read.
        file[header + 4 * (chunk + 16) + 3] ^= 0xFF
        let reader = try open(file)
        #expect(try reader.read(offset: 1000, length: 2000) == plaintext[1000..<3000])
        #expect(try reader.read(offset: 4095, length: 0) == Data())
        #expect(throws: SealError.chunkTampered(index: 4)) { try reader.read(offset: 4095, length: 2) }
        #expect(throws: SealError.rangeOutOfBounds(offset: 4990, length: 20, size: 5000)) {
            try reader.read(offset: 4990, length: 20)
        }
    }

    @Test func everyFlippedByteIsCaught() throws {
        let file = try seal(pattern(2500))
        for index in file.indices {
            var damaged = file
            damaged[index] ^= 0x20
            do {
                let reader = try open(damaged)
                _ = try reader.readAll()
                Issue.record("byte \(index) flipped went unnoticed")
            } catch {
                // Any SealError is right; what matters is that none opens to garbage.
            }
        }
    }

    @Test func headerChangesAreNamed() throws {
        let file = try seal(pattern(100))
        var damaged = file
        damaged[damaged.count - 100 - 16 - 5] ^= 0x01  // inside the wrapped key
        #expect(throws: SealError.headerTampered) { try open(damaged) }
        damaged = file
        damaged[4] = 9
        #expect(throws: SealError.unsupportedVersion(9)) { try open(damaged) }
        #expect(throws: SealError.notSealed) { try open(Data("MIME-Version: 1.0\r\n".utf8)) }
        #expect(throws: SealError.notSealed) { try open(Data()) }
        #expect(throws: SealError.self) { try open(file.prefix(30)) }
    }

    @Test func truncationAndAppendedBytesAreNamed() throws {
        let file = try seal(pattern(3000))
        #expect(throws: SealError.truncated(expectedBytes: file.count, actualBytes: file.count - 1)) {
            try open(file.dropLast())
        }
        // Cut at a chunk boundary: still short of what the header promises.
        #expect(throws: SealError.truncated(expectedBytes: file.count, actualBytes: file.count - (3000 - 2048) - 16)) {
            try open(file.prefix(file.count - (3000 - 2048) - 16))
        }
        #expect(throws: SealError.trailingData(3)) { try open(file + Data([1, 2, 3])) }
    }

    @Test func reorderedChunksAreNamed() throws {
        let file = try seal(pattern(3 * chunk))
        let header = headerSize(of: file, plaintextSize: 3 * chunk)
        let size = chunk + 16
        let chunks = (0..<3).map { file.subdata(in: header + $0 * size..<header + ($0 + 1) * size) }
        let swapped = file.prefix(header) + chunks[1] + chunks[0] + chunks[2]
        let reader = try open(swapped)
        #expect(throws: SealError.chunkOutOfOrder(index: 0, found: 1)) { try reader.readAll() }
    }

    @Test func aFileInAnotherOwnersMailboxOrUnderAnotherKeyIsNamed() throws {
        let file = try seal(pattern(10))
        #expect(throws: SealError.belongsToAnotherOwner(found: "mailbox:1000", expected: "mailbox:2000")) {
            try open(file, as: "mailbox:2000")
        }
        #expect(throws: SealError.wrongKey) { try open(file, key: Curve25519.KeyAgreement.PrivateKey()) }
    }

    @Test func twoSealsOfTheSameTextShareNoCiphertext() throws {
        let plaintext = pattern(2048)
        let first = try seal(plaintext)
        let second = try seal(plaintext)
        #expect(first.count == second.count)
        #expect(first.suffix(2048) != second.suffix(2048))
    }

    /// The nonce base (header bytes 71..<83 for `mailbox:1000`) is random in every one of its
    /// 12 bytes, not only in the ones a cheaper draw happens to fill.
    @Test func everyNonceBaseByteIsRandom() throws {
        let nonceBases = try (0..<16).map { _ in try seal(Data("x".utf8)).subdata(in: 71..<83) }
        for position in 0..<12 {
            #expect(Set(nonceBases.map { $0[$0.startIndex + position] }).count > 1, "byte \(position)")
        }
    }
}
