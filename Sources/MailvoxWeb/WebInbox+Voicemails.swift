import Foundation
import Hummingbird
import MailvoxCore
import MailvoxTemplates

/// What pages and API share: one page of a folder, and the actions on a voicemail.
extension WebInbox {
    /// One page of a folder, newest first.
    struct FolderPage: Sendable {
        let mailbox: WebMailbox
        let folder: String
        let status: FolderStatus
        let entries: [VoicemailEntry]
        let page: Int
        let pages: Int
        let total: Int
    }

    static let defaultPageSize = 25
    static let maxPageSize = 200

    /// The page `page` of the folder, or with `containing`, the page that holds that UID.
    func folderPage(
        _ identity: Identity, mailbox id: String, folder: String, page: Int, pageSize: Int, containing: UInt32? = nil,
        in known: [WebMailbox]? = nil
    ) async throws -> FolderPage {
        let (mailbox, name) = try await self.folder(identity, mailbox: id, folder, in: known)
        do {
            let snapshot = try await identity.store.snapshot(of: name)
            // Newest call first; a moved message keeps its received time, so time, not UID, orders.
            let ordered = snapshot.messages.sorted {
                $0.internalDate != $1.internalDate ? $0.internalDate > $1.internalDate : $0.uid > $1.uid
            }
            let pages = max(1, (ordered.count + pageSize - 1) / pageSize)
            let wanted = containing.flatMap { uid in ordered.firstIndex { $0.uid == uid } }.map { $0 / pageSize + 1 }
            let page = min(max(1, wanted ?? page), pages)
            let slice = Array(ordered.dropFirst((page - 1) * pageSize).prefix(pageSize))
            let headers = try await identity.store.headers(in: name, uids: slice.map(\.uid))
            let entries = slice.compactMap { summary in
                headers[summary.uid].map { VoicemailEntry(summary: summary, header: $0) }
            }
            return FolderPage(
                mailbox: mailbox, folder: folder, status: snapshot.status, entries: entries, page: page, pages: pages,
                total: ordered.count)
        } catch {
            throw WebError.from(error)
        }
    }

    /// A voicemail's facts as pages and the API show them, in the login's language and zone.
    func describe(
        _ entry: VoicemailEntry, mailbox: WebMailbox, folder: String, identity: Identity, language: String?
    )
        -> [String: Any]
    {
        let context = TemplateContext(
            callerName: entry.callerName, callerNumber: entry.callerNumber, mailboxID: mailbox.id,
            mailboxName: mailbox.name, receivedAt: entry.received, timeZone: identity.profile.timeZone,
            language: language, duration: Double(entry.seconds), urgent: entry.urgent, serverName: "", depositID: "")
        let shown = context.variables
        var values: [String: Any] = [
            "uid": Int(entry.uid),
            "mailbox": mailbox.id,
            "folder": folder,
            "received_at": Self.iso8601(entry.received),
            "received": shown["received"] ?? "",
            "duration": shown["duration"] ?? "0:00",
            "duration_seconds": entry.seconds,
            "heard": entry.heard,
            "urgent": entry.urgent,
            "size": entry.size,
            "audio_url": audioURL(mailbox: mailbox.id, folder: folder, uid: entry.uid),
        ]
        if let name = shown["caller_name"] { values["caller_name"] = name }
        if let number = shown["caller_number"] { values["caller_number_display"] = number }
        if let number = entry.callerNumber { values["caller_number"] = number }
        if let greeting = entry.greetingType { values["greeting_type"] = greeting }
        return values
    }

    func audioURL(mailbox: String, folder: String, uid: UInt32) -> String {
        "/api/v1/mailboxes/\(Self.pathComponent(mailbox))/voicemails/\(uid)/audio?folder=\(Self.queryValue(folder))"
    }

    // MARK: - Actions

    enum Action: String, Sendable, CaseIterable {
        case heard, unheard, save, delete, restore
    }

    /// What an action did: where the voicemail is now (nil once it left the folders the web shows).
    struct ActionResult: Sendable {
        let folder: String?
        let uid: UInt32?
    }

    func perform(_ action: Action, _ identity: Identity, _ ref: MessageRef) async throws -> ActionResult {
        let (mailbox, name) = try await folder(identity, mailbox: ref.mailbox, ref.folder)
        let store = identity.store
        do {
            guard !(try await store.summaries(in: name, uids: [ref.uid])).isEmpty else {
                throw WebError.notFound("no voicemail \(ref.uid) in \(ref.folder)")
            }
            switch action {
            case .heard, .unheard:
                _ = try await store.storeFlags(
                    in: name, uids: [ref.uid], operation: action == .heard ? .add : .remove,
                    flags: MessageFlags(system: .seen), unchangedSince: nil)
                return ActionResult(folder: ref.folder, uid: ref.uid)
            case .save:
                guard let saved = mailbox.saved else { throw WebError.notFound("the mailbox has no Saved folder") }
                return try await move(identity, mailbox: mailbox, from: ref, to: saved)
            case .restore:
                return try await move(identity, mailbox: mailbox, from: ref, to: "INBOX")
            case .delete:
                // Into Trash; from Trash, expunged — and then still recoverable for `[retention]
                // deleted_days` in Recently Deleted (docs/OPERATIONS.md).
                guard let trash = mailbox.trash else { throw WebError.notFound("the mailbox has no Trash folder") }
                if ref.folder == trash {
                    _ = try await store.expunge(in: name, uids: [ref.uid])
                    return ActionResult(folder: nil, uid: nil)
                }
                return try await move(identity, mailbox: mailbox, from: ref, to: trash)
            }
        } catch {
            throw WebError.of(error)
        }
    }

    func move(
        _ identity: Identity, mailbox: WebMailbox, from ref: MessageRef, to target: String
    ) async throws -> ActionResult {
        guard target != ref.folder else { return ActionResult(folder: ref.folder, uid: ref.uid) }
        guard mailbox.folders.contains(where: { $0.name == target }) else {
            throw WebError.notFound("no folder \(target)")
        }
        do {
            let copied = try await identity.store.copy(
                from: mailbox.storeName(ref.folder), uids: [ref.uid], to: mailbox.storeName(target),
                removingSource: true)
            return ActionResult(folder: target, uid: copied.pairs.first?.target)
        } catch {
            throw WebError.from(error)
        }
    }

    /// Expunges everything in the mailbox's Trash (recoverable in Recently Deleted); the count.
    func emptyTrash(_ identity: Identity, mailboxID: String) async throws -> Int {
        let mailbox = try await mailbox(identity, mailboxID)
        guard let trash = mailbox.trash else { throw WebError.notFound("the mailbox has no Trash folder") }
        do {
            let name = mailbox.storeName(trash)
            let uids = try await identity.store.snapshot(of: name).messages.map(\.uid)
            guard !uids.isEmpty else { return 0 }
            return try await identity.store.expunge(in: name, uids: uids).count
        } catch {
            throw WebError.from(error)
        }
    }

    /// `GET /voicemail/:deposit`, the link in alert mails: the voicemail that deposit made,
    /// wherever it is now among the login's folders, shown on its page of the inbox.
    func voicemailLink(
        _ request: Request, _ context: some RemoteAddressRequestContext, deposit: String
    ) async
        -> Response
    {
        guard let identity = await identify(request, context) else {
            return Self.redirect("/login?next=" + Self.queryValue("/voicemail/" + deposit))
        }
        let language = language(identity, request)
        guard deposit.count <= 64, !deposit.isEmpty,
            deposit.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") })
        else { return errorPage(identity, language: language, .notFound("no such voicemail")) }
        do {
            for mailbox in try await mailboxes(identity) {
                for folder in mailbox.folders {
                    let found = try await identity.store.search(
                        in: mailbox.storeName(folder.name), .header(field: "Message-ID", contains: "<\(deposit)@"))
                    if let uid = found.first {
                        return Self.redirect(
                            "/inbox?mailbox=\(Self.queryValue(mailbox.id))&folder=\(Self.queryValue(folder.name))"
                                + "&uid=\(uid)#vm-\(uid)")
                    }
                }
            }
        } catch {
            return errorPage(identity, language: language, .from(error))
        }
        return errorPage(identity, language: language, .notFound("the voicemail is no longer in your folders"))
    }

    // MARK: - URL pieces

    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? text
    }

    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? text
    }
}

extension WebInbox {
    /// UTC with seconds, `2026-12-04T17:09:57Z`: what the API gives programs.
    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
