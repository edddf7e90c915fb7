import MailvoxCore
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// What every TLS listener of Mailvox (IMAP, SMTP/LMTP, HTTP) shares: the server configuration
/// of `[tls]`'s PEM files under `TLSPolicy`, and the STARTTLS switch of IMAP and SMTP.
public enum ServerTLS {
    /// A certificate or key file that cannot be used, named.
    public struct LoadError: Error, CustomStringConvertible {
        public var path: String
        public var underlying: String

        public var description: String { "cannot load TLS certificate or key \(path): \(underlying)" }
    }

    /// The server configuration of a certificate chain and its key: TLS 1.2 or newer, and for
    /// TLS 1.2 only ECDHE with AEAD ciphers (`TLSPolicy`; TLS 1.3's suites are all AEAD and
    /// BoringSSL does not let them be configured).
    public static func configuration(
        certificateFile: String, privateKeyFile: String
    ) throws(LoadError)
        -> TLSConfiguration
    {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw LoadError(path: certificateFile, underlying: "\(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        } catch {
            throw LoadError(path: privateKeyFile, underlying: "\(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuites = TLSPolicy.tls12CipherString
        return tls
    }

    /// The context of `configuration(certificateFile:privateKeyFile:)`.
    public static func context(certificateFile: String, privateKeyFile: String) throws -> NIOSSLContext {
        try NIOSSLContext(
            configuration: configuration(certificateFile: certificateFile, privateKeyFile: privateKeyFile))
    }

    /// STARTTLS (RFC 3207 §4, RFC 2595 §3.1): writes `reply` — the last plaintext — and puts TLS
    /// first in the pipeline in the same event-loop turn, so no byte the client sends after
    /// reading the reply is taken as plaintext. Returns the octets `bytesRead` had counted by
    /// then: if that is more than the caller handled, the client pipelined behind its command
    /// (CVE-2011-0411), and the caller ends the connection rather than run those bytes.
    public static func startTLS(
        on channel: Channel, reply: ByteBuffer, context: NIOSSLContext, bytesRead: NIOLockedValueBox<Int>
    ) async throws -> Int {
        // All on the event loop: the write's completion runs the callback inline, before the
        // loop can read the client's first TLS bytes.
        try await channel.eventLoop.flatSubmit {
            channel.writeAndFlush(reply).flatMapThrowing {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
                return bytesRead.withLockedValue { $0 }
            }
        }.get()
    }
}
