import Foundation
import MailvoxCore
import MailvoxSidecar

/// libFuzzer entry for everything a front door reads from a PBX before any audio: the drop
/// folder's sidecars (JSON and Asterisk `.txt`) and the fields the HTTP door and
/// `mailvox deposit` take (mailbox id, caller number and name, ISO 8601 time). The first byte
/// picks the reader; the rest is its input. Refusals are expected; crashes are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIntake(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let body = Data(bytes.dropFirst())
    let text = String(decoding: body, as: UTF8.self)
    switch bytes[0] % 6 {
    case 0:
        if let fields = try? SidecarReader.json(body) { check(fields) }
    case 1:
        if let fields = try? SidecarReader.asterisk(text) { check(fields) }
    case 2:
        if case .success(let number?) = CallerID.parseNumber(text) { precondition(!number.isEmpty) }
    case 3:
        _ = CallerID.parseName(text)
    case 4:
        _ = ISO8601.parse(text, defaultTimeZone: "Europe/Berlin")
    default:
        if let id = MailboxID(text) {
            // The id names a spool directory: nothing that could leave it may pass.
            precondition(!id.rawValue.contains("/") && !id.rawValue.hasPrefix(".") && id.rawValue.utf8.count <= 64)
        }
    }
    return 0
}

/// What the intake relies on after a sidecar was accepted.
func check(_ fields: SidecarFields) {
    if let date = fields.receivedAt { precondition(date.timeIntervalSince1970.isFinite) }
    _ = fields.mailbox.map(MailboxID.init)
    _ = CallerID.parseNumber(fields.callerNumber)
    _ = CallerID.parseName(fields.callerName)
}
