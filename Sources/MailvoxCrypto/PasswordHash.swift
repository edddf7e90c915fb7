import Crypto
import CryptoExtras
import Foundation

/// Mailbox passwords, hashed with scrypt (RFC 7914) under a per-user salt.
///
/// Stored in PHC string form with its parameters, `$scrypt$ln=15,r=8,p=1$SALT$HASH` (base64
/// without padding), so parameters can be raised later while old hashes still verify.
public struct PasswordHasher: Sendable {
    /// log2 of scrypt's N.
    public var logN: Int
    public var blockSize: Int
    public var parallelism: Int

    /// N = 2^15, r = 8, p = 1: 32 MiB and about 0.1 s per hash here — slow for a guesser,
    /// bearable for a login.
    public static let standard = PasswordHasher(logN: 15, blockSize: 8, parallelism: 1)

    public init(logN: Int, blockSize: Int, parallelism: Int) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public func hash(_ password: String) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let derived = try Self.scrypt(
            Array(password.utf8), salt: salt, logN: logN, r: blockSize, p: parallelism, length: 32)
        return "$scrypt$ln=\(logN),r=\(blockSize),p=\(parallelism)$\(Self.encode(salt))$\(Self.encode(derived))"
    }

    /// True when `password` matches `stored`; compares in constant time.
    public static func verify(_ password: String, against stored: String) throws(CryptoError) -> Bool {
        let fields = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard fields.count == 4, fields[0] == "scrypt" else { throw .malformedPasswordHash }
        var parameters: [Substring: Int] = [:]
        for pair in fields[1].split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let value = Int(parts[1]) else { throw .malformedPasswordHash }
            parameters[parts[0]] = value
        }
        guard let logN = parameters["ln"], let r = parameters["r"], let p = parameters["p"], (1...20).contains(logN),
            (1...32).contains(r), (1...16).contains(p), let salt = decode(fields[2]), let expected = decode(fields[3]),
            !expected.isEmpty
        else { throw .malformedPasswordHash }
        let derived: [UInt8]
        do {
            derived = try scrypt(Array(password.utf8), salt: salt, logN: logN, r: r, p: p, length: expected.count)
        } catch {
            throw .malformedPasswordHash
        }
        return Secrets.equal(derived, expected)
    }

    /// scrypt itself (CryptoExtras' `KDF.Scrypt`), raw bytes in and out.
    public static func scrypt(
        _ password: [UInt8], salt: [UInt8], logN: Int, r: Int, p: Int, length: Int
    ) throws
        -> [UInt8]
    {
        let key = try KDF.Scrypt.deriveKey(
            from: password, salt: salt, outputByteCount: length, rounds: 1 << logN, blockSize: r, parallelism: p)
        return key.withUnsafeBytes { Array($0) }
    }

    private static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    private static func decode(_ text: Substring) -> [UInt8]? {
        var padded = String(text)
        while padded.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map { Array($0) }
    }
}

/// Passwords Mailvox makes up for new mailboxes.
public enum GeneratedPassword {
    /// Four groups of five characters from an alphabet without look-alikes (0/O, 1/l/I):
    /// 20 × log2(32) = 100 bits, easy to read aloud to a user.
    public static func make() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789AB")
        precondition(alphabet.count >= 32)
        var generator = SystemRandomNumberGenerator()
        let groups = (0..<4).map { _ in
            String((0..<5).map { _ in alphabet[Int(generator.next(upperBound: UInt32(32)))] })
        }
        return groups.joined(separator: "-")
    }
}
