import MailvoxCore

public enum QueueError: MailvoxFailure, Equatable {
    case noSuchJob(Int64)

    public var kind: FailureKind { .input }
    public var description: String {
        switch self {
        case .noSuchJob(let id): "no job \(id) (see `mailvox queue list`)"
        }
    }
}
