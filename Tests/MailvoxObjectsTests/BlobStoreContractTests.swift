import Foundation
import MailvoxCore
import MailvoxObjects
import Testing

/// What every `BlobStore` promises, run against the filesystem and a real S3 (SeaweedFS).
@Suite struct BlobStoreContractTests {
    private func key(_ text: String) throws -> BlobKey { try BlobKey(text) }

    @Test(arguments: Backend.allCases)
    func putGetOverwrite(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let key = try key("spool/2000/3/1733000000.M1P2.host:2,S")
        try await store.put(key: key, bytes: Array("first".utf8))
        #expect(try await store.get(key: key) == Array("first".utf8))
        try await store.put(key: key, bytes: Array("second, longer".utf8))
        #expect(try await store.get(key: key) == Array("second, longer".utf8))
        try await store.put(key: key, bytes: [])
        #expect(try await store.get(key: key) == [])
    }

    @Test(arguments: Backend.allCases)
    func existsDeleteAndAbsent(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let key = try key("queue/abc.mvx")
        #expect(try await store.exists(key: key) == false)
        #expect(try await store.get(key: key) == nil)
        // Deleting what is not there is fine, twice.
        try await store.delete(key: key)
        try await store.put(key: key, bytes: [1, 2, 3])
        #expect(try await store.exists(key: key))
        try await store.delete(key: key)
        #expect(try await store.exists(key: key) == false)
        #expect(try await store.get(key: key) == nil)
        try await store.delete(key: key)
        // A key's folder is not a key.
        try await store.put(key: try self.key("queue/notify/abc.mvx"), bytes: [9])
        #expect(try await store.exists(key: try self.key("queue/notify")) == false)
        #expect(try await store.get(key: try self.key("queue/notify")) == nil)
    }

    @Test(arguments: Backend.allCases)
    func listPagesInByteOrder(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        var expected: [BlobKey] = []
        for index in 0..<23 {
            let key = try key("spool/2000/\(index % 3)/msg-\(String(format: "%03d", index))")
            expected.append(key)
            try await store.put(key: key, bytes: [UInt8(index)])
        }
        // Neighbours the prefix must leave out, and one that sorts between folders ('-' < '/').
        for other in ["spool/20001/x", "spool/200", "queue/a.mvx", "spool/2000-x"] {
            try await store.put(key: try key(other), bytes: [0])
        }
        expected.sort()
        let prefix = try BlobPrefix("spool/2000/")
        var pages: [[BlobKey]] = []
        var after: BlobCursor?
        repeat {
            let page = try await store.list(prefix: prefix, after: after, limit: 5)
            #expect(page.keys.count <= 5)
            pages.append(page.keys)
            after = page.next
        } while after != nil && pages.count < 20
        #expect(pages.count == 5)
        #expect(pages.flatMap { $0 }.sorted() == expected)
        if backend == .filesystem { #expect(pages.flatMap { $0 } == expected) }
        #expect(try await store.allKeys(prefix: prefix, pageSize: 7).sorted() == expected)
        // A prefix that ends inside a name, across folders: each key once.
        let underSpool200 = (expected.map(\.value) + ["spool/200", "spool/2000-x", "spool/20001/x"])
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let listed = try await store.allKeys(prefix: try BlobPrefix("spool/200"), pageSize: 4)
        #expect(listed.sorted().map(\.value) == underSpool200)
        #expect(Set(listed).count == listed.count)
        let everything = try await store.allKeys(prefix: .all, pageSize: 10)
        #expect(everything.count == 27)
        #expect(Set(everything).count == 27)
        // Exactly a page's worth: the last page says so.
        let exact = try await store.list(prefix: try BlobPrefix("spool/2000/0/"), after: nil, limit: 8)
        #expect(exact.keys.count == 8)
        #expect(exact.next == nil)
        #expect(
            try await store.list(prefix: try BlobPrefix("nothing/"), after: nil, limit: 3)
                == BlobPage(keys: [], next: nil))
    }

    @Test(arguments: Backend.allCases)
    func oddButLegalKeys(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        let names = [
            "odd/a b+c=d&e%f,g;h:i@j$k!l'm(n)o~_-.x",
            "odd/\"quoted\" <tag> &amp; more",
            "odd/?query#fragment[0]{1}|^`",
            "odd/ leading and trailing space ",
            "odd/...",
            "odd/%2F%00%zz",
        ]
        for (index, name) in names.enumerated() {
            try await store.put(key: try key(name), bytes: Array(repeating: UInt8(index), count: index + 1))
        }
        for (index, name) in names.enumerated() {
            #expect(try await store.get(key: try key(name)) == Array(repeating: UInt8(index), count: index + 1))
            #expect(try await store.exists(key: try key(name)))
        }
        let listed = try await store.allKeys(prefix: try BlobPrefix("odd/"), pageSize: 2)
        #expect(listed.sorted().map(\.value) == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for name in names { try await store.delete(key: try key(name)) }
        #expect(try await store.allKeys(prefix: try BlobPrefix("odd/")) == [])
    }

    @Test(arguments: Backend.allCases)
    func oneByteAndFiveMebibytes(_ backend: Backend) async throws {
        let store = try await backend.makeStore()
        var generator = SystemRandomNumberGenerator()
        let big = (0..<(5 * 1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try await store.put(key: try key("big/one"), bytes: [0x42])
        try await store.put(key: try key("big/five"), bytes: big)
        #expect(try await store.get(key: try key("big/one")) == [0x42])
        let back = try await store.get(key: try key("big/five"))
        #expect(back?.count == big.count)
        #expect(back == big)
    }
}

/// Keys and prefixes are checked before any store sees them.
@Suite struct BlobKeyTests {
    @Test(arguments: [
        "", "/a", "a/", "a//b", "a/../b", "./a", "a/.", "..", "a\u{01}b", "a\nb", "a\u{7F}", "caf\u{E9}", "a\\b",
        String(repeating: "x", count: 1025), String(repeating: "y", count: 256), ".blobstore/tmp/x",
    ])
    func rejected(_ text: String) {
        #expect(throws: BlobStoreError.self) { try BlobKey(text) }
        do {
            _ = try BlobKey(text)
        } catch {
            #expect(error.kind == .input)
            guard case .invalidKey = error else {
                Issue.record("expected invalidKey, got \(error)")
                return
            }
        }
    }

    @Test(arguments: ["a", "spool/2000/3/1733000000.M1P2.host:2,S", "queue/abc.mvx", "a/.b/..c/...", "x/.blobstore"])
    func accepted(_ text: String) throws {
        #expect(try BlobKey(text).value == text)
    }

    @Test func prefixes() throws {
        #expect(try BlobPrefix("").value == "")
        #expect(try BlobPrefix("spool/").value == "spool/")
        #expect(try BlobPrefix("spool/20").value == "spool/20")
        #expect(try BlobPrefix("spool/..x").value == "spool/..x")
        for bad in ["/spool", "a//b", "a/../b", "a\u{0}", "\u{E9}"] {
            #expect(throws: BlobStoreError.self) { try BlobPrefix(bad) }
        }
    }

    @Test func byteOrder() throws {
        #expect(try BlobKey("a-b") < BlobKey("a/b"))
        #expect(try BlobKey("A") < BlobKey("a"))
    }
}
