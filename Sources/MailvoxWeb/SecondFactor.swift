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
