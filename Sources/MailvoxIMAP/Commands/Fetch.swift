import MailvoxCore
import MailvoxIMAPCore
import NIOCore

extension IMAPSession {
    /// Messages read from the store per round trip: on PostgreSQL each is one, so FETCH 1:*
    /// FLAGS of a folder of a few hundred messages is one statement. A batch's structures
    /// (when sections are asked for) stay in memory until it is answered; some KB each.
    static let fetchBatch = 256

    /// FETCH and UID FETCH (RFC 3501 §6.4.5) with MODSEQ and CHANGEDSINCE (RFC 7162 §3.1.4) and
    /// BINARY (RFC 3516). Sections come from the message's `ParsedMessage` layout; a whole body
    /// or a partial of it is read as a range, so only what is sent is decrypted. Bodies at least
    /// as large as the flush threshold go to the connection in pieces, never assembled in a
    /// second buffer. A message whose BINARY part cannot be decoded gets no response and keeps
    /// its flags; the others are answered, and the command ends `NO [UNKNOWN-CTE]`.
    mutating func fetch(_ command: FetchCommand, tag: String) async throws {
        guard let store = state.store, let folder = state.selected else { return }
        let targets = try folder.tracker.resolve(command.set, byUID: command.byUID)
        var attributes = command.attributes
        if command.byUID && !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        if command.changedSince != nil && !attributes.contains(.modSeq) { attributes.append(.modSeq) }
        if attributes.contains(.modSeq) { state.condStoreUsed() }
        // RFC 7162 §3.2.6: UID FETCH … (CHANGEDSINCE n VANISHED) first reports the UIDs of the
        // set expunged since n; the parser allows VANISHED only there.
        if command.vanished {
            guard state.qresync else {
                bad(tag, "VANISHED needs ENABLE QRESYNC")
                return
            }
            let gone = try await store.expunged(in: folder.name, since: command.changedSince ?? 0).filter {
                command.set.contains($0, last: UInt32.max)
            }
            if let set = SequenceSet(numbers: gone) { send(.vanished(earlier: true, set)) }
        }
        let setsSeen = !folder.readOnly && attributes.contains(where: \.setsSeen)
        let binaryParts = Self.binaryParts(attributes)
        var refusal: StatusResponse?
        var start = 0
        while start < targets.count {
            let batch = targets[start..<min(start + Self.fetchBatch, targets.count)]
            start += Self.fetchBatch
            var summaries: [UInt32: MessageSummary] = [:]
            for summary in try await store.summaries(in: folder.name, uids: batch.map(\.uid)) {
                if let changedSince = command.changedSince, summary.modseq <= changedSince { continue }
                summaries[summary.uid] = summary
            }
            // One store call for the batch's structures, not one per message, and none for a
            // message whose wanted items are all encoded already.
            let needsSections = Self.needsSections(attributes)
            let wanted = batch.map(\.uid).filter { uid in
                summaries[uid] != nil
                    && (needsSections
                        || attributes.contains { attribute in
                            attribute.encodedItem.map {
                                !encodedStructures.contains(
                                    $0, of: (store.mailbox, folder.name, folder.uidValidity, uid))
                            } ?? false
                        })
            }
            let structures = wanted.isEmpty ? [:] : try await store.structures(in: folder.name, uids: wanted)
            // Refused before \Seen is set or anything is written (RFC 3516 §4.3), from the structure alone.
            var refused: Set<UInt32> = []
            if !binaryParts.isEmpty {
                for (seq, uid) in batch {
                    guard let structure = structures[uid] else { continue }
                    for part in binaryParts {
                        guard let error = structure.binaryRefusal(part) else { continue }
                        refused.insert(uid)
                        if refusal == nil {
                            refusal = Self.binaryRefusal(
                                error, part: part, message: command.byUID ? "UID \(uid)" : "message \(seq)")
                        }
                        break
                    }
                }
            }
            var seenNow: Set<UInt32> = []
            if setsSeen {
                let unseen = summaries.values.filter { !$0.flags.system.contains(.seen) && !refused.contains($0.uid) }
                    .map(\.uid)
                if !unseen.isEmpty {
                    let update = try await store.storeFlags(
                        in: folder.name, uids: unseen, operation: .add, flags: MessageFlags(system: .seen),
                        unchangedSince: nil)
                    for summary in update.changed {
                        summaries[summary.uid] = summary
                        seenNow.insert(summary.uid)
                    }
                    state.updateSelected { selected in
                        for summary in update.changed { selected.tracker.noteModseq(summary.modseq, of: summary.uid) }
                    }
                }
            }
            var shown: [MessageSummary] = []
            for (seq, uid) in batch {
                guard let summary = summaries[uid], !refused.contains(uid) else { continue }
                do {
                    try await writeFetch(
                        seq: seq, summary: summary, recent: folder.tracker.isRecent(uid), attributes: attributes,
                        addFlags: seenNow.contains(uid), store: store, folder: folder, structure: structures[uid])
                    shown.append(summary)
                } catch MailStoreError.noSuchMessage {
                    // Expunged by another session meanwhile: nothing to say about it now.
                    continue
                }
            }
            // The client now knows these flags and modseqs: a change the feed has not yet
            // delivered that is older must not be sent after them (MODSEQ never goes back).
            if attributes.contains(.flags) || attributes.contains(.modSeq) || !seenNow.isEmpty {
                state.updateSelected { selected in
                    for summary in shown { selected.tracker.noteModseq(summary.modseq, of: summary.uid) }
                }
            }
        }
        // RFC 3501 §7.4.1: no EXPUNGE while answering FETCH; UID FETCH names no numbers.
        if let refusal {
            await sendUpdates(allowExpunge: command.byUID)
            send(.tagged(tag: tag, refusal))
        } else {
            await ok(tag, "FETCH completed", allowExpunge: command.byUID)
        }
    }

    /// The part numbers of every BINARY and BINARY.SIZE item asked for.
    static func binaryParts(_ attributes: [FetchAttribute]) -> [[Int]] {
        attributes.compactMap { attribute in
            switch attribute {
            case .binary(let part, _, _), .binarySize(let part): part
            default: nil
            }
        }
    }

    /// The tagged NO for a BINARY that cannot be answered; it says what the client can fetch instead.
    static func binaryRefusal(_ error: BinarySectionError, part: [Int], message: String) -> StatusResponse {
        let section = part.map(String.init).joined(separator: ".")
        switch error {
        case .unknownEncoding(let encoding):
            return StatusResponse(
                .no, code: .unknownCTE,
                text: "Cannot decode Content-Transfer-Encoding \(encoding) of BINARY[\(section)] in \(message); "
                    + "fetch BODY[\(section)] instead")
        case .notALeaf:
            return StatusResponse(
                .no, code: .cannot,
                text: "BINARY[\(section)] of \(message) is not a leaf part (RFC 9051 §6.4.5); "
                    + "fetch BODY[\(section)] instead")
        }
    }

    /// Whether any attribute is a part or header section, which needs the message's parsed
    /// layout (ENVELOPE, BODY and BODYSTRUCTURE may come encoded instead).
    static func needsSections(_ attributes: [FetchAttribute]) -> Bool {
        attributes.contains { attribute in
            switch attribute {
            case .section(let section, _): !(section.part.isEmpty && section.text == .whole)
            case .rfc822Header, .rfc822Text, .binary, .binarySize: true
            default: false
            }
        }
    }

    /// One message's FETCH response. Everything is read before anything is written, so a
    /// message that vanishes midway leaves no half response.
    private mutating func writeFetch(
        seq: UInt32, summary: MessageSummary, recent: Bool, attributes: [FetchAttribute], addFlags: Bool,
        store: any MailStore, folder selected: SelectedFolder, structure: ParsedMessage?
    ) async throws {
        let folder = selected.name
        var parsed = structure
        if parsed == nil && Self.needsSections(attributes) {
            parsed = try await store.structure(in: folder, uid: summary.uid)
        }
        var whole: [UInt8]?
        enum Value {
            case item(FetchItem)
            case encoded(ByteBuffer)
            case literal(FetchLiteralName, [UInt8]?)
        }
        var values: [Value] = []
        func content() async throws -> [UInt8] {
            if let whole { return whole }
            let bytes = try await store.content(in: folder, uid: summary.uid, range: nil)
            whole = bytes
            return bytes
        }
        var decodedParts: [[Int]: [UInt8]] = [:]
        func binary(_ part: [Int]) async throws -> [UInt8] {
            if let bytes = decodedParts[part] { return bytes }
            // Part numbers that name nothing are answered as empty, as BODY[…] is.
            let bytes = try parsed!.binarySection(part, of: try await content()) ?? []
            decodedParts[part] = bytes
            return bytes
        }
        for attribute in attributes {
            switch attribute {
            case .uid: values.append(.item(.uid(summary.uid)))
            case .flags: values.append(.item(.flags(Flag.list(summary.flags, recent: recent))))
            case .internalDate:
                values.append(
                    .item(
                        .internalDate(
                            InternalDate(secondsSince1970: Int64(summary.internalDate.timeIntervalSince1970)))))
            case .rfc822Size: values.append(.item(.rfc822Size(summary.size)))
            case .modSeq: values.append(.item(.modSeq(summary.modseq)))
            case .envelope, .bodyStructure:
                // From the cache, or encoded from the structure the batch read for a miss.
                let key = (store.mailbox, folder, selected.uidValidity, summary.uid)
                let item = attribute.encodedItem!
                if let bytes = encodedStructures.encoded(item, of: key, structure: parsed) {
                    values.append(.encoded(bytes))
                } else {
                    // Not encoded yet (or forgotten since the batch looked): read the structure.
                    let structure = try await store.structure(in: folder, uid: summary.uid)
                    parsed = structure
                    values.append(.encoded(encodedStructures.encoded(item, of: key, structure: structure)!))
                }
            case .rfc822: values.append(.literal(.rfc822, try await content()))
            case .rfc822Header:
                values.append(
                    .literal(.rfc822Header, parsed!.section(SectionSpecifier(text: .header), of: try await content())))
            case .rfc822Text:
                values.append(
                    .literal(.rfc822Text, parsed!.section(SectionSpecifier(text: .text), of: try await content())))
            case .section(let section, _):
                let name = FetchLiteralName.section(section, origin: section.partial?.offset)
                if section.part.isEmpty && section.text == .whole {
                    // The whole message or a range of it: read only that range.
                    if let partial = section.partial, whole == nil {
                        let end = partial.offset.addingReportingOverflow(partial.length)
                        let range = partial.offset..<(end.overflow ? Int.max : end.partialValue)
                        values.append(
                            .literal(name, try await store.content(in: folder, uid: summary.uid, range: range)))
                    } else {
                        values.append(.literal(name, ParsedMessageless.slice(try await content(), section.partial)))
                    }
                } else {
                    // A section that names no part is answered as empty, as Dovecot does.
                    values.append(.literal(name, parsed!.section(section, of: try await content()) ?? []))
                }
            case .binary(let part, let partial, _):
                // RFC 3516 §4.2: the partial counts octets of the decoded part.
                let name = FetchLiteralName.binary(part: part, origin: partial?.offset)
                values.append(.literal(name, ParsedMessageless.slice(try await binary(part), partial)))
            case .binarySize(let part):
                values.append(.item(.binarySize(part: part, try await binary(part).count)))
            }
        }
        decodedParts = [:]
        if addFlags && !attributes.contains(.flags) {
            values.append(.item(.flags(Flag.list(summary.flags, recent: recent))))
        }
        if addFlags && state.condStore && !attributes.contains(.modSeq) {
            values.append(.item(.modSeq(summary.modseq)))
        }
        whole = nil
        for case .item(.flags(let flags)) in values { announceKeywords(in: flags) }
        var writer = FetchResponseWriter(sequenceNumber: seq, into: &output)
        for value in values {
            switch value {
            case .item(let item): writer.write(item, into: &output)
            case .encoded(let bytes): writer.write(encoded: bytes, into: &output)
            case .literal(let name, let bytes):
                guard let bytes else {
                    writer.write(.literal(name, nil), into: &output)
                    continue
                }
                let literal8: Bool
                if case .binary = name { literal8 = bytes.contains(0) } else { literal8 = false }
                writer.writeLiteralHeader(name, byteCount: bytes.count, literal8: literal8, into: &output)
                if bytes.count >= Self.flushThreshold {
                    try await flush()
                    var offset = 0
                    while offset < bytes.count {
                        let end = min(offset + Self.flushThreshold, bytes.count)
                        try await sink.write(ByteBuffer(bytes: bytes[offset..<end]))
                        offset = end
                    }
                } else {
                    output.writeBytes(bytes)
                }
            }
        }
        writer.finish(into: &output)
        try await flushIfLarge()
    }
}

/// Partial fetches of bytes already in hand.
enum ParsedMessageless {
    /// RFC 3501 §6.4.5: `<origin.length>` of `bytes`; an origin past the end is empty.
    static func slice(_ bytes: [UInt8], _ partial: SectionSpecifier.Partial?) -> [UInt8] {
        guard let partial else { return bytes }
        guard partial.offset < bytes.count else { return [] }
        return Array(bytes[partial.offset..<min(bytes.count, partial.offset + min(partial.length, bytes.count))])
    }
}
