import Foundation
import HummingbirdOTP

/// TOTP (RFC 6238, hummingbird-auth's OTP): 6 digits, 30 s steps, HMAC-SHA-1, which every
/// authenticator app reads from an `otpauth://` QR code.
enum SecondFactor {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// 32 random characters of the base32 alphabet: 160 bits, the key RFC 4226 recommends.
    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The key as an authenticator app takes it by hand: base32 of the secret's bytes (what
    /// the QR code's `secret=` carries), in groups of four.
    static func displayKey(_ secret: String) -> String {
        var bits = 0
        var value = 0
        var out: [Character] = []
        for byte in secret.utf8 {
            value = (value << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(value >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(value << (5 - bits)) & 31]) }
        return stride(from: 0, to: out.count, by: 4).map { String(out[$0..<min($0 + 4, out.count)]) }
            .joined(separator: " ")
    }

    static func uri(secret: String, account: String, issuer: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }

    /// The time step `code` is valid for, allowing one step of clock drift either way; nil
    /// when it is not a current code.
    static func step(of code: String, secret: String, now: Date = Date()) -> Int64? {
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else {
            return nil
        }
        let totp = TOTP(secret: secret)
        for drift in [0, -1, 1] {
            let date = now.addingTimeInterval(Double(drift * 30))
            if totp.compute(date: date) == value { return Int64(date.timeIntervalSince1970 / 30) }
        }
        return nil
    }
}
