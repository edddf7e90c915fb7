import Synchronization

/// A thread-safe map that holds at most `capacity` entries, forgetting the oldest insertion
/// first. For values that never change once made (a message's parsed or encoded structure),
/// so a stale entry can only be unused, never wrong.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State: ~Copyable {
        var entries: [Key: Value] = [:]
        var order: [Key] = []
        var head = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0, "a cache holds at least one entry")
        self.capacity = capacity
    }

    public subscript(key: Key) -> Value? {
        get { state.withLock { $0.entries[key] } }
        set {
            guard let newValue else { return }
            state.withLock { state in
                if state.entries.updateValue(newValue, forKey: key) != nil { return }
                if state.order.count < capacity {
                    state.order.append(key)
                } else {
                    // A ring over the insertion order: overwrite the oldest slot.
                    state.entries[state.order[state.head]] = nil
                    state.order[state.head] = key
                    state.head = (state.head + 1) % capacity
                }
            }
        }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
