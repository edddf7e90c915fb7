import Foundation
import HTTPTypes
import Hummingbird
import MailvoxCore
import MailvoxStore
import NIOCore

extension WebInbox {
    /// A personal token's caller: the mailbox it belongs to, with the store a sign-in opens.
    func identify(token: String, client: ClientAddress) async -> Identity? {
        let directory = self.directory
        guard token.hasPrefix(Directory.personalTokenPrefix),
            let found = try? await Offload.run({ () throws -> (MailboxID, Mailbox?)? in
                guard let id = try directory.authenticatePersonalToken(token) else { return nil }
                return (id, try directory.mailbox(id))
            })
        else { return nil }
        let (login, record) = found
        let store = await authenticator.openStore(for: login, client: client)
        return Identity(
            login: login, profile: profile(login, record), store: store, session: nil, cookie: nil, client: client)
    }

    func profile(_ login: MailboxID, _ record: Mailbox?) -> WebSessions.Profile {
        Self.profile(login, record, defaultTimezone: config.server.defaultTimezone)
    }

    static func profile(_ login: MailboxID, _ record: Mailbox?, defaultTimezone: String) -> WebSessions.Profile {
        let zone =
            record?.timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: defaultTimezone) ?? .gmt
        return WebSessions.Profile(name: record?.name ?? login.rawValue, language: record?.language, timeZone: zone)
    }

    /// Server-Sent Events: every committed change to the folders the login sees, as
    /// `event: change` with `{"mailbox", "folder", "kind", "uids"}` (docs/API.md), from the
    /// same change feed IMAP IDLE reads. A comment every 15 s keeps proxies from closing it.
    /// The stream ends when the session does (sign-out, timeout) or the login loses access.
    func events(_ identity: Identity) async throws -> Response {
        var collected: [(mailbox: String, folder: String, changes: AsyncStream<FolderChange>)] = []
        for mailbox in try await mailboxes(identity) {
            for folder in mailbox.folders {
                collected.append(
                    (mailbox.id, folder.name, try await identity.store.changes(of: mailbox.storeName(folder.name))))
            }
        }
        let feeds = collected
        let sessions = self.sessions
        let cookie = identity.cookie
        let body = ResponseBody { writer in
            enum Item: Sendable {
                case text(String)
                case tick
                case accessChanged
            }
            let (items, continuation) = AsyncStream<Item>.makeStream()
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for feed in feeds {
                    group.addTask {
                        for await change in feed.changes {
                            continuation.yield(.text(Self.event(change, mailbox: feed.mailbox, folder: feed.folder)))
                        }
                        // The feed ended: the login lost this mailbox (docs/DEPARTMENTS.md).
                        continuation.yield(.accessChanged)
                    }
                }
                group.addTask {
                    var ticks = 0
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        ticks += 1
                        continuation.yield(ticks % 15 == 0 ? .text(": keep-alive\n\n") : .tick)
                    }
                }
                loop: for await item in items {
                    if let cookie, await !sessions.isLive(cookie) { break }
                    switch item {
                    case .text(let text): try await writer.write(ByteBuffer(string: text))
                    case .tick: continue
                    case .accessChanged: break loop
                    }
                }
                group.cancelAll()
            }
            continuation.finish()
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: body)
    }

    static func event(_ change: FolderChange, mailbox: String, folder: String) -> String {
        var object: [String: Any] = ["mailbox": mailbox, "folder": folder]
        switch change {
        case .added(let uid, _):
            object["kind"] = "added"
            object["uids"] = [Int(uid)]
        case .flags(let uid, let flags, _):
            object["kind"] = "flags"
            object["uids"] = [Int(uid)]
            object["heard"] = flags.system.contains(.seen)
        case .expunged(let uids, _):
            object["kind"] = "expunged"
            object["uids"] = uids.map { Int($0) }
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return "event: change\ndata: \(String(decoding: data, as: UTF8.self))\n\n"
    }
}
