import Crypto
import Foundation

/// An X25519 private key sealed under the master key, as the database stores it.
///
/// The seal (AES-256-GCM) binds the owner — `node`, or `mailbox:ID` — as associated data, so a
/// wrapped key copied onto another mailbox's row does not open.
public struct WrappedPrivateKey: Sendable, Equatable {
    public var masterKeyID: String
    /// AES-GCM combined form: nonce, ciphertext, tag.
    public var sealed: Data

    public init(masterKeyID: String, sealed: Data) {
        self.masterKeyID = masterKeyID
        self.sealed = sealed
    }
}

/// Who a key pair belongs to; part of what the wrap binds.
public enum KeyOwner: Sendable, Equatable, CustomStringConvertible {
    case node
    case mailbox(String)

    public var description: String {
        switch self {
        case .node: "node"
        case .mailbox(let id): "mailbox:\(id)"
        }
    }

    var associatedData: Data { Data("mailvox wrapped x25519 key v1\u{0}\(description)".utf8) }
}

/// Makes and opens the X25519 key pairs of the node and of each mailbox.
public enum KeyPairs {
    /// A new key pair: the public key in the clear (32 bytes), the private key wrapped.
    public static func generate(
        for owner: KeyOwner, under master: MasterKey
    ) throws(CryptoError) -> (
        publicKey: Data, wrapped: WrappedPrivateKey
    ) {
        let privateKey = Curve25519.KeyAgreement.PrivateKey()
        return (privateKey.publicKey.rawRepresentation, try wrap(privateKey, for: owner, under: master))
    }

    public static func wrap(
        _ privateKey: Curve25519.KeyAgreement.PrivateKey, for owner: KeyOwner, under master: MasterKey
    ) throws(CryptoError) -> WrappedPrivateKey {
        do {
            let box = try AES.GCM.seal(
                privateKey.rawRepresentation, using: master.key, authenticating: owner.associatedData)
            return WrappedPrivateKey(masterKeyID: master.id, sealed: box.combined!)
        } catch {
            throw .unwrapFailed(context: owner.description)
        }
    }

    public static func unwrap(
        _ wrapped: WrappedPrivateKey, for owner: KeyOwner, under master: MasterKey
    )
        throws(CryptoError) -> Curve25519.KeyAgreement.PrivateKey
    {
        guard wrapped.masterKeyID == master.id else {
            throw .wrongMasterKey(expected: master.id, found: wrapped.masterKeyID)
        }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped.sealed)
            let raw = try AES.GCM.open(box, using: master.key, authenticating: owner.associatedData)
            return try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)
        } catch {
            throw .unwrapFailed(context: owner.description)
        }
    }
}

/// An owner's unwrapped private key, for modules that open sealed files but should not
/// handle raw key material themselves.
public struct OwnerKey: Sendable {
    public let owner: KeyOwner
    let privateKey: Curve25519.KeyAgreement.PrivateKey

    /// The matching public key (32 bytes): what files for this owner are sealed to.
    public var publicKey: Data { privateKey.publicKey.rawRepresentation }

    /// Unwraps `wrapped` for `owner` under `master`.
    public static func open(
        _ wrapped: WrappedPrivateKey, for owner: KeyOwner, under master: MasterKey
    )
        throws(CryptoError) -> OwnerKey
    {
        OwnerKey(owner: owner, privateKey: try KeyPairs.unwrap(wrapped, for: owner, under: master))
    }
}

extension SealedFileReader {
    /// Opens `path` as a file of `key`'s owner.
    public convenience init(path: String, key: OwnerKey) throws(SealError) {
        try self.init(path: path, owner: key.owner.description, privateKey: key.privateKey)
    }

    /// Opens sealed bytes in memory as `key`'s owner's.
    public convenience init(sealed: Data, key: OwnerKey) throws(SealError) {
        try self.init(sealed: sealed, owner: key.owner.description, privateKey: key.privateKey)
    }
}
