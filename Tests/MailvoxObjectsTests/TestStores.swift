import Foundation
import MailvoxCore
import MailvoxObjects
import MailvoxTestSupport

/// The backends the contract runs against.
enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    case filesystem
    case s3

    var description: String { rawValue }

    /// A fresh, empty store: a temp directory, or a new bucket on the shared SeaweedFS.
    func makeStore() async throws -> any BlobStore {
        switch self {
        case .filesystem:
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-blobs-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            return try FilesystemBlobStore(root: root.path)
        case .s3:
            return try S3BlobStore(settings: try await TestBuckets.fresh())
        }
    }
}
