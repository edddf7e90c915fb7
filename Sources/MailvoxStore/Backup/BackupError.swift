import Foundation
import MailvoxCore

/// Why a backup, a verification or a restore stopped; each names the path or entry at fault.
public enum BackupError: MailvoxFailure {
    case io(path: String, reason: String)
    case busy(path: String)
    case noBackup(directory: String, detail: String)
    case noSuchBackup(directory: String, name: String)
    case manifest(path: String, reason: String)
    case damaged(backup: String, problems: [String])
    case targetNotEmpty(path: String)
    case wrongMasterKey(file: String, found: String, needed: [String])

    public var kind: FailureKind {
        switch self {
        case .noSuchBackup, .targetNotEmpty, .wrongMasterKey: .input
        default: .runtime
        }
    }

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .busy(let path): "another `mailvox backup` is writing to \(path) (it holds \(path)/lock); wait for it"
        case .noBackup(let directory, let detail): "\(directory) holds no complete backup\(detail)"
        case .noSuchBackup(let directory, let name):
            "\(directory) has no complete backup named \(name) (list them with `ls \(directory)`)"
        case .manifest(let path, let reason): "\(path): \(reason)"
        case .damaged(let backup, let problems):
            "backup \(backup) is damaged or was tampered with; refusing it (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n  "
                + problems.prefix(20).joined(separator: "\n  ")
                + (problems.count > 20 ? "\n  … and \(problems.count - 20) more" : "")
        case .targetNotEmpty(let path):
            "--data-dir \(path) exists and is not an empty directory; refusing to mix into it"
        case .wrongMasterKey(let file, let found, let needed):
            "--master-key \(file) is master key \(found), but this backup needs \(needed.joined(separator: " or "))"
        }
    }
}
