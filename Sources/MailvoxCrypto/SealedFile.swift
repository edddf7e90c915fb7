import Crypto
import Foundation

/// Why a sealed file did not open. Each case is a different story for whoever reads the log:
/// a damaged disk, an attacker, a file in the wrong place, a key mix-up.
public enum SealError: Error, Equatable, CustomStringConvertible {
    /// Not an MVX1 file at all (no magic).
    case notSealed
    case unsupportedVersion(UInt8)
    /// The header cannot be parsed: cut short or with impossible fields.
    case malformedHeader(String)
    /// The file names another owner than the mailbox it was found in.
    case belongsToAnotherOwner(found: String, expected: String)
    /// The owner matches, but the file was sealed to another of its keys.
    case wrongKey
    /// A header byte was changed: the message key does not open.
    case headerTampered
    /// The file is shorter than its header promises.
    case truncated(expectedBytes: Int, actualBytes: Int)
    /// Bytes follow the last chunk.
    case trailingData(Int)
    /// Chunk `index` was changed.
    case chunkTampered(index: Int)
    /// Chunk `index` holds the chunk that belongs at `found`.
    case chunkOutOfOrder(index: Int, found: Int)
    case rangeOutOfBounds(offset: Int, length: Int, size: Int)
    case io(String)

    public var description: String {
        switch self {
        case .notSealed: "not a sealed Mailvox file (no MVX1 magic)"
        case .unsupportedVersion(let version): "sealed file version \(version) is not supported"
        case .malformedHeader(let reason): "sealed file header is malformed: \(reason)"
        case .belongsToAnotherOwner(let found, let expected): "sealed file belongs to \(found), not \(expected)"
        case .wrongKey: "sealed file was sealed to another key of its owner"
        case .headerTampered: "sealed file header was altered (its message key does not open)"
        case .truncated(let expected, let actual): "sealed file is truncated: \(actual) of \(expected) bytes"
        case .trailingData(let count): "sealed file has \(count) bytes after its last chunk"
        case .chunkTampered(let index): "sealed file chunk \(index) was altered"
        case .chunkOutOfOrder(let index, let found): "sealed file chunk \(index) holds chunk \(found) (reordered)"
        case .rangeOutOfBounds(let offset, let length, let size): "range \(offset)+\(length) is outside \(size) bytes"
        case .io(let reason): "sealed file: \(reason)"
        }
    }
}

/// The MVX1 file format (docs/STORAGE.md): a message key wrapped with HPKE to the owner's
/// X25519 public key, then the plaintext in AES-256-GCM chunks whose nonce and associated
/// data bind the header, the chunk index and a last-chunk mark.
///
/// Used for stored messages (owner `mailbox:ID`) and for deposits and alert copies in the
/// queue (owner `node`).
public enum SealedFile {
    static let magic: [UInt8] = Array("MVX1".utf8)
    static let version: UInt8 = 1
    public static let defaultChunkSize = 65_536
    static let tagSize = 16
    /// RFC 9180 base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (docs/DESIGN.md §5.3).
    static let ciphersuite = HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256)

    /// The 8-byte id of a public key, recorded in the header so a wrong key is named as such.
    public static func keyID(of publicKey: Data) -> Data { Data(SHA256.hash(data: publicKey).prefix(8)) }

    /// Seals `plaintext` to `recipient` (a raw X25519 public key) for `owner`, handing the file's
    /// bytes to `write` piece by piece: the header, then one chunk at a time.
    public static func seal(
        _ plaintext: Data, owner: String, recipient: Data, chunkSize: Int = defaultChunkSize,
        write: (Data) throws -> Void
    ) throws {
        precondition(chunkSize > 0 && chunkSize <= 1 << 24)
        let ownerBytes = Array(owner.utf8)
        guard (1...255).contains(ownerBytes.count) else { throw SealError.malformedHeader("owner name length") }
        let publicKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: recipient)
        var sender = try HPKE.Sender(recipientKey: publicKey, ciphersuite: ciphersuite, info: info(owner))
        let messageKey = SymmetricKey(size: .bits256)
        // Two 64-bit draws, not one per byte: each draw is a getrandom(2) call.
        var generator = SystemRandomNumberGenerator()
        let nonceBase = withUnsafeBytes(of: (generator.next() as UInt64, generator.next() as UInt64)) {
            Array($0.prefix(12))
        }

        var header = Data(magic)
        header.append(version)
        header.append(UInt8(ownerBytes.count))
        header.append(contentsOf: ownerBytes)
        header.append(keyID(of: recipient))
        header.append(UInt8(sender.encapsulatedKey.count))
        header.append(sender.encapsulatedKey)
        header.appendBigEndian(UInt32(chunkSize))
        header.appendBigEndian(UInt64(plaintext.count))
        header.append(contentsOf: nonceBase)
        // Everything above is bound as the wrapped key's associated data: change any of it and
        // the message key no longer opens.
        let wrappedKey = try sender.seal(messageKey.withUnsafeBytes { Data($0) }, authenticating: header)
        header.append(UInt8(wrappedKey.count))
        header.append(wrappedKey)
        try write(header)

        let digest = Data(SHA256.hash(data: header))
        let count = chunkCount(plaintextSize: plaintext.count, chunkSize: chunkSize)
        for index in 0..<count {
            let start = plaintext.startIndex + index * chunkSize
            let end = min(start + chunkSize, plaintext.endIndex)
            let box = try AES.GCM.seal(
                plaintext[start..<end], using: messageKey, nonce: nonce(base: nonceBase, index: index),
                authenticating: chunkData(digest: digest, index: index, last: index == count - 1))
            // Two pieces rather than one concatenation: no 64 KiB copy per chunk.
            try write(box.ciphertext)
            try write(box.tag)
        }
    }

    /// The whole sealed file in memory; for small payloads and tests.
    public static func seal(
        _ plaintext: Data, owner: String, recipient: Data, chunkSize: Int = defaultChunkSize
    )
        throws -> Data
    {
        var output = Data()
        // Header (< 1 KiB) and one tag per chunk: reserving up front spares the copies of growth.
        output.reserveCapacity(
            1024 + plaintext.count + chunkCount(plaintextSize: plaintext.count, chunkSize: chunkSize) * tagSize)
        try seal(plaintext, owner: owner, recipient: recipient, chunkSize: chunkSize) { output.append($0) }
        return output
    }

    static func info(_ owner: String) -> Data { Data("mailvox MVX1 message key\u{0}\(owner)".utf8) }

    static func chunkCount(plaintextSize: Int, chunkSize: Int) -> Int {
        max(1, (plaintextSize + chunkSize - 1) / chunkSize)
    }

    /// The base nonce with the chunk index XORed into its last 8 bytes (big-endian).
    static func nonce(base: [UInt8], index: Int) -> AES.GCM.Nonce {
        var bytes = base
        var value = UInt64(index)
        for position in stride(from: 11, through: 4, by: -1) {
            bytes[position] ^= UInt8(value & 0xFF)
            value >>= 8
        }
        return try! AES.GCM.Nonce(data: bytes)
    }

    static func chunkData(digest: Data, index: Int, last: Bool) -> Data {
        var data = digest
        data.appendBigEndian(UInt64(index))
        data.append(last ? 1 : 0)
        return data
    }
}

/// Opens an MVX1 file and decrypts byte ranges, touching only the chunks a range needs.
public final class SealedFileReader: @unchecked Sendable {
    /// Where the sealed bytes are: a file (read with pread) or memory (index metadata).
    enum Source {
        case descriptor(Int32)
        case memory(Data)
    }

    // Immutable after init; reads use pread, which is safe from several threads.
    private let source: Source
    private let messageKey: SymmetricKey
    private let nonceBase: [UInt8]
    private let headerDigest: Data
    private let headerSize: Int
    private let chunkSize: Int
    private let chunkCount: Int
    /// The size of the decrypted content.
    public let plaintextSize: Int
    /// The owner named in the header.
    public let owner: String

    /// Opens `path` as `owner`'s file with `privateKey`, checking everything but the chunks.
    public convenience init(
        path: String, owner: String, privateKey: Curve25519.KeyAgreement.PrivateKey
    ) throws(SealError) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("\(path): \(String(cString: strerror(errno)))") }
        do throws(SealError) {
            try self.init(descriptor: fd, owner: owner, privateKey: privateKey)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Takes ownership of `descriptor` once it returns (closed on deinit); if it throws, the
    /// descriptor is still the caller's to close.
    public convenience init(
        descriptor: Int32, owner: String, privateKey: Curve25519.KeyAgreement.PrivateKey
    )
        throws(SealError)
    {
        try self.init(source: .descriptor(descriptor), owner: owner, privateKey: privateKey)
    }

    /// Opens sealed bytes held in memory.
    public convenience init(
        sealed: Data, owner: String, privateKey: Curve25519.KeyAgreement.PrivateKey
    )
        throws(SealError)
    {
        try self.init(source: .memory(sealed), owner: owner, privateKey: privateKey)
    }

    init(source: Source, owner expected: String, privateKey: Curve25519.KeyAgreement.PrivateKey) throws(SealError) {
        self.source = source
        let fileSize: Int
        switch source {
        case .descriptor(let descriptor):
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { throw .io(String(cString: strerror(errno))) }
            fileSize = Int(info.st_size)
        case .memory(let data):
            fileSize = data.count
        }
        // The header is at most 4+1+1+255+8+1+255+4+8+12+1+255 bytes.
        let prefix = try Self.read(source, offset: 0, length: min(fileSize, 1024))
        var cursor = HeaderCursor(bytes: prefix)
        guard try cursor.take(4) == Data(SealedFile.magic) else { throw .notSealed }
        let version = try cursor.byte()
        guard version == SealedFile.version else { throw .unsupportedVersion(version) }
        let ownerBytes = try cursor.take(Int(try cursor.byte()))
        guard let owner = String(data: ownerBytes, encoding: .utf8), !owner.isEmpty else {
            throw .malformedHeader("owner")
        }
        let keyID = try cursor.take(8)
        let encapsulatedKey = try cursor.take(Int(try cursor.byte()))
        let chunkSize = Int(try cursor.uint32())
        let plaintextSize = try cursor.uint64()
        let nonceBase = Array(try cursor.take(12))
        let boundHeader = prefix.prefix(cursor.position)
        let wrappedKey = try cursor.take(Int(try cursor.byte()))
        guard chunkSize > 0, chunkSize <= 1 << 24 else { throw .malformedHeader("chunk size \(chunkSize)") }
        guard plaintextSize <= UInt64(Int.max / 2) else { throw .malformedHeader("size \(plaintextSize)") }

        guard owner == expected else { throw .belongsToAnotherOwner(found: owner, expected: expected) }
        guard keyID == SealedFile.keyID(of: privateKey.publicKey.rawRepresentation) else { throw .wrongKey }
        let keyBytes: Data
        do {
            var recipient = try HPKE.Recipient(
                privateKey: privateKey, ciphersuite: SealedFile.ciphersuite, info: SealedFile.info(owner),
                encapsulatedKey: encapsulatedKey)
            keyBytes = try recipient.open(wrappedKey, authenticating: boundHeader)
        } catch {
            throw .headerTampered
        }
        guard keyBytes.count == 32 else { throw .headerTampered }

        self.owner = owner
        self.messageKey = SymmetricKey(data: keyBytes)
        self.nonceBase = nonceBase
        self.headerSize = cursor.position
        self.headerDigest = Data(SHA256.hash(data: prefix.prefix(cursor.position)))
        self.chunkSize = chunkSize
        self.plaintextSize = Int(plaintextSize)
        self.chunkCount = SealedFile.chunkCount(plaintextSize: Int(plaintextSize), chunkSize: chunkSize)
        let expectedSize = headerSize + Int(plaintextSize) + chunkCount * SealedFile.tagSize
        if fileSize < expectedSize { throw .truncated(expectedBytes: expectedSize, actualBytes: fileSize) }
        if fileSize > expectedSize { throw .trailingData(fileSize - expectedSize) }
    }

    deinit {
        if case .descriptor(let descriptor) = source { close(descriptor) }
    }

    /// The decrypted bytes `offset..<offset+length`; only the chunks they fall in are read.
    public func read(offset: Int, length: Int) throws(SealError) -> Data {
        guard offset >= 0, length >= 0, offset <= plaintextSize, length <= plaintextSize - offset else {
            throw .rangeOutOfBounds(offset: offset, length: length, size: plaintextSize)
        }
        guard length > 0 else { return Data() }
        var result = Data(capacity: length)
        let first = offset / chunkSize
        let last = (offset + length - 1) / chunkSize
        for index in first...last {
            let chunk = try openChunk(index)
            let chunkStart = index * chunkSize
            let from = max(offset, chunkStart) - chunkStart
            let to = min(offset + length, chunkStart + chunk.count) - chunkStart
            result.append(chunk[chunk.startIndex + from..<chunk.startIndex + to])
        }
        return result
    }

    /// The whole decrypted content.
    public func readAll() throws(SealError) -> Data {
        if plaintextSize == 0 {
            _ = try openChunk(0)
            return Data()
        }
        return try read(offset: 0, length: plaintextSize)
    }

    /// Opens every chunk without keeping the plaintext: what `fsck` does.
    public func verify() throws(SealError) {
        for index in 0..<chunkCount { _ = try openChunk(index) }
    }

    private func sealedChunk(_ index: Int) throws(SealError) -> Data {
        let plainLength = index == chunkCount - 1 ? plaintextSize - index * chunkSize : chunkSize
        let offset = headerSize + index * (chunkSize + SealedFile.tagSize)
        return try Self.read(source, offset: offset, length: plainLength + SealedFile.tagSize)
    }

    private func openChunk(_ index: Int) throws(SealError) -> Data {
        let sealed = try sealedChunk(index)
        if let plain = open(sealed, as: index) { return plain }
        // Failure path only: is it another chunk's bytes (reordering) or damage?
        for other in 0..<chunkCount where other != index {
            if open(sealed, as: other) != nil { throw .chunkOutOfOrder(index: index, found: other) }
        }
        throw .chunkTampered(index: index)
    }

    private func open(_ sealed: Data, as index: Int) -> Data? {
        guard sealed.count >= SealedFile.tagSize else { return nil }
        let split = sealed.endIndex - SealedFile.tagSize
        guard
            let box = try? AES.GCM.SealedBox(
                nonce: SealedFile.nonce(base: nonceBase, index: index), ciphertext: sealed[..<split],
                tag: sealed[split...])
        else { return nil }
        return try? AES.GCM.open(
            box, using: messageKey,
            authenticating: SealedFile.chunkData(digest: headerDigest, index: index, last: index == chunkCount - 1))
    }

    private static func read(_ source: Source, offset: Int, length: Int) throws(SealError) -> Data {
        let descriptor: Int32
        switch source {
        case .memory(let bytes):
            guard offset + length <= bytes.count else {
                throw .truncated(expectedBytes: offset + length, actualBytes: bytes.count)
            }
            return bytes.subdata(in: bytes.startIndex + offset..<bytes.startIndex + offset + length)
        case .descriptor(let fd):
            descriptor = fd
        }
        var data = Data(count: length)
        var done = 0
        while done < length {
            let count = data.withUnsafeMutableBytes { buffer in
                Foundation.pread(descriptor, buffer.baseAddress! + done, length - done, off_t(offset + done))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                if count == 0 { throw .truncated(expectedBytes: offset + length, actualBytes: offset + done) }
                throw .io(String(cString: strerror(errno)))
            }
            done += count
        }
        return data
    }
}

/// Reads the header's fields in order, failing as `malformedHeader` past the end.
private struct HeaderCursor {
    let bytes: Data
    var position = 0

    init(bytes: Data) { self.bytes = bytes }

    mutating func take(_ count: Int) throws(SealError) -> Data {
        guard count >= 0, position + count <= bytes.count else {
            throw position < 4 ? .notSealed : .malformedHeader("cut short at byte \(position)")
        }
        defer { position += count }
        return bytes.subdata(in: bytes.startIndex + position..<bytes.startIndex + position + count)
    }

    mutating func byte() throws(SealError) -> UInt8 { try take(1).first! }

    mutating func uint32() throws(SealError) -> UInt32 { try take(4).reduce(0) { $0 << 8 | UInt32($1) } }

    mutating func uint64() throws(SealError) -> UInt64 { try take(8).reduce(0) { $0 << 8 | UInt64($1) } }
}

extension Data {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
