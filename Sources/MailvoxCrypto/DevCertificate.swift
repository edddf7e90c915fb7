import Crypto
import Foundation
import SwiftASN1
import X509

/// The self-signed certificate `mailvox init` makes so TLS works from the first start.
///
/// Valid for `hostname`, `localhost` and 127.0.0.1 (docs/DESIGN.md §3.2), with a P-256 key; clients
/// must be told to trust it (or production replaces it with a real one).
public enum DevCertificate {
    public struct PEMFiles: Sendable {
        public var certificate: String
        public var privateKey: String
    }

    public static func make(hostname: String, now: Date = Date()) throws -> PEMFiles {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Mailvox")
            CommonName(hostname)
        }
        var names: [GeneralName] = [.dnsName(hostname)]
        if hostname != "localhost" { names.append(.dnsName("localhost")) }
        names.append(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])))
        var serial = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in serial.indices { serial[index] = generator.next() }
        serial[0] &= 0x7F
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(bytes: ArraySlice(serial)),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(825 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return PEMFiles(
            certificate: try certificate.serializeAsPEM().pemString + "\n", privateKey: key.pemRepresentation + "\n")
    }

    /// Writes both files (key 0600, certificate 0644), never replacing existing ones.
    public static func write(_ files: PEMFiles, certificatePath: String, privateKeyPath: String) throws(CryptoError) {
        try DurableFile.createExclusive(privateKeyPath, contents: Array(files.privateKey.utf8))
        try DurableFile.createExclusive(certificatePath, contents: Array(files.certificate.utf8), mode: 0o644)
    }

    /// The subject names and expiry of the PEM certificate at `path`, for `doctor`.
    public static func describe(pem: String) throws -> (names: [String], notValidAfter: Date) {
        let certificate = try Certificate(pemEncoded: pem)
        var names: [String] = []
        if let san = try certificate.extensions.subjectAlternativeNames {
            for name in san {
                switch name {
                case .dnsName(let dns): names.append("DNS:\(dns)")
                case .ipAddress(let ip): names.append("IP:" + ip.bytes.map(String.init).joined(separator: "."))
                default: break
                }
            }
        }
        return (names, certificate.notValidAfter)
    }
}
