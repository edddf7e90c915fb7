import MailvoxIMAPCore

extension IMAPSession {
    /// IDLE (RFC 2177): `+ idling`, then every change as it arrives, expunges included, until DONE.
    mutating func idle(tag: String) async {
        state.idleStarted(tag: tag)
        await sendUpdates(allowExpunge: true)
        send(.continuation(.text("idling")))
    }

    mutating func finishIdle() async -> SessionAction {
        guard let tag = state.idleDone() else {
            send(.untagged(.condition(StatusResponse(.bad, text: "Not idling"))))
            return .proceed
        }
        await ok(tag, "IDLE terminated")
        return .proceed
    }
}
