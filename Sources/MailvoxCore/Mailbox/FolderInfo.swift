/// A folder as LIST shows it: name (UTF-8, `/` as hierarchy delimiter), special use, subscription.
public struct FolderInfo: Sendable, Equatable {
    public var name: String
    /// RFC 6154 attribute, e.g. `\Archive`, `\Trash`.
    public var specialUse: String?
    public var subscribed: Bool
    public var hasChildren: Bool
    /// False for a level that only holds other folders (`\Noselect`): the shared namespace's
    /// `Shared` and `Shared/2100 Support`.
    public var selectable: Bool

    public init(name: String, specialUse: String?, subscribed: Bool, hasChildren: Bool, selectable: Bool = true) {
        self.selectable = selectable
        self.name = name
        self.specialUse = specialUse
        self.subscribed = subscribed
        self.hasChildren = hasChildren
    }

    /// The hierarchy delimiter of every Mailvox mailbox (docs/DESIGN.md §6).
    public static let delimiter: Character = "/"

    /// The read-only folder where expunged messages stay recoverable for `[retention]
    /// deleted_days` (docs/OPERATIONS.md); a COPY or MOVE out of it restores.
    public static let recentlyDeleted = "Recently Deleted"
}
