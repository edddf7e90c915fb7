import Foundation
import Synchronization
import X509

/// Verifies the relay's certificate chain with swift-certificates, because Debian's libetpan
/// (GnuTLS) completes the handshake without checking it: RFC 5280 path validation to a
/// trusted root (the system bundle or `[smtp] ca_file`) and the name checked against `host`.
enum PeerVerifier {
    static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    /// Parsed trust stores by file, so a burst of alerts parses the system bundle once.
    private static let stores = Mutex<[String: [Certificate]]>([:])

    static func roots(from path: String) throws(NotifyError) -> [Certificate] {
        if let cached = stores.withLock({ $0[path] }) { return cached }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .configuration("cannot read the CA bundle \(path) (smtp.ca_file)")
        }
        var certificates: [Certificate] = []
        for block in text.components(separatedBy: "-----END CERTIFICATE-----") {
            guard let start = block.range(of: "-----BEGIN CERTIFICATE-----") else { continue }
            let pem = String(block[start.lowerBound...]) + "-----END CERTIFICATE-----"
            // One unreadable entry in a system bundle must not distrust the rest.
            if let certificate = try? Certificate(pemEncoded: pem) { certificates.append(certificate) }
        }
        guard !certificates.isEmpty else { throw .configuration("no certificate in the CA bundle \(path)") }
        stores.withLock { $0[path] = certificates }
        return certificates
    }

    /// Throws `.certificate` unless `chain` (DER, leaf first) verifies for `host`.
    static func verify(chain: [[UInt8]], host: String, caFile: String?) throws(NotifyError) {
        guard let leafBytes = chain.first else {
            throw .certificate(host: host, reason: "the relay sent no certificate")
        }
        let leaf: Certificate
        var intermediates: [Certificate] = []
        do {
            leaf = try Certificate(derEncoded: leafBytes)
            for der in chain.dropFirst() { intermediates.append(try Certificate(derEncoded: der)) }
        } catch {
            throw .certificate(host: host, reason: "unreadable certificate: \(error)")
        }
        let roots = try roots(from: caFile ?? systemBundle)
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let others = intermediates
        let result = blockingWait {
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy()
                ServerIdentityPolicy(serverHostname: isAddress ? nil : host, serverIP: isAddress ? host : nil)
            }
            return await verifier.validate(leaf: leaf, intermediates: CertificateStore(others))
        }
        switch result {
        case .validCertificate:
            return
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }
            let reason =
                reasons.first { $0.lowercased().contains("name") || $0.lowercased().contains("hostname") }
                ?? reasons.first ?? "no chain to a trusted root"
            throw .certificate(host: host, reason: "for \(host): \(reason)")
        }
    }
}

/// Runs `body` as a task and blocks this (non-cooperative) thread until it ends: the SMTP and
/// SMS senders run on their own threads, and swift-certificates' verifier and AsyncHTTPClient
/// are async.
func blockingWait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let value = await body()
        box.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return box.withLock { $0! }
}
