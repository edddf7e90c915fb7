/// What every TLS listener of Mailvox offers (IMAP, HTTP, SMTP in): TLS 1.2 or newer and,
/// for TLS 1.2, only ECDHE key exchange with AEAD ciphers. TLS 1.3's suites are AEAD by
/// definition and are not affected by this list.
public enum TLSPolicy {
    /// OpenSSL cipher names for TLS 1.2: forward secrecy (ECDHE) and AEAD (GCM, ChaCha20-Poly1305)
    /// only — no CBC, whose padding-oracle history (Lucky13, POODLE-style attacks) is why
    /// Mozilla's "intermediate" profile dropped it.
    public static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ]

    /// The same list as one OpenSSL cipher string.
    public static var tls12CipherString: String { tls12Ciphers.joined(separator: ":") }
}
