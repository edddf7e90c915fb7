import MailvoxCore
import MailvoxIMAPCore
import NIOCore

/// The wire form of messages' ENVELOPE, BODY and BODYSTRUCTURE. None of them changes once a
/// message exists, and clients ask for them over a whole folder again and again; kept
/// encoded, a FETCH copies them instead of rebuilding them token by token (Dovecot keeps
/// BODYSTRUCTURE text in its cache file for the same reason). One per server, shared by its
/// sessions, in memory only — like the store's cache of opened structures it is built from.
final class EncodedStructures: Sendable {
    enum Item: Hashable, Sendable {
        case envelope, body, bodyStructure
    }

    /// Mailbox, folder, UIDVALIDITY and UID name one message for good: a UID is never given
    /// twice under one UIDVALIDITY, so an entry can go stale (expunged) but never be wrong.
    struct Key: Hashable, Sendable {
        let mailbox: MailboxID
        let folder: String
        let uidValidity: UInt32
        let uid: UInt32
        let item: Item
    }

    private let cache: BoundedCache<Key, ByteBuffer>

    /// About 300–700 octets per item for a voicemail: the default holds three items of
    /// 8,192 messages in roughly 10 MiB.
    init(capacity: Int = 3 * 8192) {
        cache = BoundedCache(capacity: capacity)
    }

    /// `item` of the message, from the cache or else encoded from `structure` and kept; nil
    /// when it is not cached and no structure is given.
    func encoded(_ item: Item, of key: (MailboxID, String, UInt32, UInt32), structure: ParsedMessage?) -> ByteBuffer? {
        let key = Key(mailbox: key.0, folder: key.1, uidValidity: key.2, uid: key.3, item: item)
        if let cached = cache[key] { return cached }
        guard let structure else { return nil }
        var buffer = ByteBuffer()
        switch item {
        case .envelope: buffer.writeFetchItem(.envelope(structure.envelope))
        case .body: buffer.writeFetchItem(.body(structure.body))
        case .bodyStructure: buffer.writeFetchItem(.bodyStructure(structure.body))
        }
        cache[key] = buffer
        return buffer
    }

    func contains(_ item: Item, of key: (MailboxID, String, UInt32, UInt32)) -> Bool {
        cache[Key(mailbox: key.0, folder: key.1, uidValidity: key.2, uid: key.3, item: item)] != nil
    }
}

extension FetchAttribute {
    /// The cached item this attribute is answered from, if it is one.
    var encodedItem: EncodedStructures.Item? {
        switch self {
        case .envelope: .envelope
        case .bodyStructure(let extensions): extensions ? .bodyStructure : .body
        default: nil
        }
    }
}
