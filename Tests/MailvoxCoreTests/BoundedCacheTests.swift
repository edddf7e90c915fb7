import MailvoxCore
import Testing

@Suite struct BoundedCacheTests {
    @Test func forgetsTheOldestInsertionFirst() {
        let cache = BoundedCache<Int, String>(capacity: 3)
        for key in 1...3 { cache[key] = "v\(key)" }
        cache[1] = "again"  // an update is not a new insertion
        cache[4] = "v4"
        #expect(cache[1] == nil)
        #expect(cache[2] == "v2")
        #expect(cache[4] == "v4")
        #expect(cache.count == 3)
        cache[5] = "v5"
        cache[6] = "v6"
        #expect(cache[2] == nil && cache[3] == nil)
        #expect(cache[4] == "v4" && cache[5] == "v5" && cache[6] == "v6")
    }

    @Test func storingNilChangesNothing() {
        let cache = BoundedCache<String, Int>(capacity: 2)
        cache["a"] = 1
        cache["a"] = nil
        #expect(cache["a"] == 1)
    }

    @Test func concurrentWritersNeverExceedTheCapacity() async {
        let cache = BoundedCache<Int, Int>(capacity: 64)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask { for key in 0..<1000 { cache[writer * 1000 + key] = key } }
            }
        }
        #expect(cache.count == 64)
    }
}
