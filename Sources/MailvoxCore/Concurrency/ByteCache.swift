import Foundation
import Synchronization

/// Bytes by name, thread-safe, at most `capacity` bytes in all: the oldest insertion goes
/// first, and a value larger than the whole is not kept. For stored objects that never change
/// under their name (a sealed deposit, a sealed message), so an entry is the stored value or
/// unused; whoever removes the object calls `forget`.
public final class ByteCache: Sendable {
    private struct State {
        var values: [String: Data] = [:]
        var order: [String] = []
        var total = 0
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int) { self.capacity = capacity }

    public func keep(_ name: String, _ data: Data) {
        guard data.count <= capacity else { return }
        state.withLock { state in
            if let old = state.values.updateValue(data, forKey: name) {
                state.total -= old.count
                state.order.removeAll { $0 == name }
            }
            state.order.append(name)
            state.total += data.count
            while state.total > capacity, !state.order.isEmpty {
                let oldest = state.order.removeFirst()
                state.total -= state.values.removeValue(forKey: oldest)?.count ?? 0
            }
        }
    }

    public func get(_ name: String) -> Data? { state.withLock { $0.values[name] } }

    public func forget(_ name: String) {
        state.withLock { state in
            guard let old = state.values.removeValue(forKey: name) else { return }
            state.total -= old.count
            state.order.removeAll { $0 == name }
        }
    }

    /// How many values are kept.
    public var count: Int { state.withLock { $0.values.count } }
}
