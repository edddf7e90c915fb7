import MailvoxIMAP
import NIOConcurrencyHelpers

extension ChangeInbox {
    /// Waits until at least one change is held, so a test can let a delivery reach a session
    /// before it sends the command that reports it. Built on the hook that wakes an IDLE
    /// connection (`setOnChange`), which a session driven by a test has no other use for; the
    /// server never waits on an inbox, it is woken.
    package func waitForChange() async {
        let waiter = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiter.withLockedValue { $0 = continuation }
            // The hook fires on the first change after an empty inbox; one that came before it
            // was set is seen by `isEmpty`. Whichever comes first resumes, once.
            setOnChange { waiter.withLockedValue { $0.take() }?.resume() }
            if !isEmpty { waiter.withLockedValue { $0.take() }?.resume() }
        }
        setOnChange(nil)
    }
}
