import Foundation
import MailvoxCore
import Testing

@testable import MailvoxNotify

/// The SMTP client against a real relay (aiosmtpd) on loopback: every security mode, AUTH,
/// certificate checks, per-recipient results and connection reuse.
@Suite struct SMTPClientTests {
    static func message(_ subject: String = "Test") -> [UInt8] {
        Array(
            "From: Voicemail <voicemail@localhost>\r\nTo: desk@example.com\r\nSubject: \(subject)\r\n\r\nHello\r\n.dot line\r\n"
                .utf8)
    }

    @Test func plainToLoopbackDeliversWithOurEHLOName() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let relay = try Relay(directory: directory)
            let sender = SMTPSender(
                settings: SMTPSettings(host: "127.0.0.1", port: relay.port, security: .none, heloName: "vm.example.net")
            )
            let outcomes = try sender.send(
                from: "voicemail@localhost", to: ["desk@example.com"], message: Self.message())
            #expect(outcomes == [.accepted])
            let messages = relay.messages()
            #expect(messages.count == 1)
            #expect(messages.first?.envelope["mail_from"] as? String == "voicemail@localhost")
            #expect(messages.first?.envelope["ehlo"] as? String == "vm.example.net")
            #expect(messages.first?.eml.contains("\r\n.dot line\r\n") == true, "dot-stuffing undone by the relay")
        }
    }

    @Test func plainToARemoteHostIsRefusedAsConfiguration() async throws {
        try await onOwnThread {
            #expect(throws: NotifyError.self) {
                _ = try SMTPConnection(
                    settings: SMTPSettings(host: "192.0.2.1", port: 25, security: .none, heloName: "localhost"))
            }
            do {
                _ = try SMTPConnection(
                    settings: SMTPSettings(host: "192.0.2.1", port: 25, security: .none, heloName: "localhost"))
            } catch let error as NotifyError {
                #expect(error.isPermanent)
                #expect(error.description.contains("loopback"))
            }
        }
    }

    @Test func starttlsWithAuthVerifiesTheRelayAndAuthenticates() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let certificates = try TestCertificates(directory: directory + "/tls")
            let relay = try Relay(
                [
                    "--mode", "starttls", "--cert", certificates.goodCert, "--key", certificates.goodKey, "--auth",
                    "alerts:s3cret pass",
                ], directory: directory)
            let settings = SMTPSettings(
                host: "localhost", port: relay.port, security: .starttls, caFile: certificates.ca, username: "alerts",
                password: "s3cret pass", heloName: "vm.example.net")
            let sender = SMTPSender(settings: settings)
            let outcomes = try sender.send(
                from: "voicemail@localhost", to: ["desk@example.com"], message: Self.message())
            #expect(outcomes == [.accepted])
            let envelope = relay.messages().first?.envelope
            #expect(envelope?["tls"] as? Bool == true)
            #expect(envelope?["authenticated"] as? Bool == true)
            #expect(relay.events().contains { $0.hasPrefix("auth PLAIN ok") || $0.hasPrefix("auth LOGIN ok") })
        }
    }

    @Test func aWrongPasswordIsAPermanentAuthFailure() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let certificates = try TestCertificates(directory: directory + "/tls")
            let relay = try Relay(
                [
                    "--mode", "starttls", "--cert", certificates.goodCert, "--key", certificates.goodKey, "--auth",
                    "a:b",
                ],
                directory: directory)
            let settings = SMTPSettings(
                host: "localhost", port: relay.port, security: .starttls, caFile: certificates.ca, username: "a",
                password: "wrong", heloName: "localhost")
            do {
                _ = try SMTPConnection(settings: settings)
                Issue.record("a wrong password was accepted")
            } catch let error as NotifyError {
                #expect(error.isPermanent, "\(error)")
                #expect(error.description.contains("535"), "\(error)")
            }
        }
    }

    @Test func implicitTLSDelivers() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let certificates = try TestCertificates(directory: directory + "/tls")
            let relay = try Relay(
                ["--mode", "tls", "--cert", certificates.goodCert, "--key", certificates.goodKey], directory: directory)
            let sender = SMTPSender(
                settings: SMTPSettings(
                    host: "localhost", port: relay.port, security: .tls, caFile: certificates.ca, heloName: "localhost")
            )
            #expect(
                try sender.send(from: "v@localhost", to: ["desk@example.com"], message: Self.message()) == [.accepted])
            #expect(relay.messages().first?.envelope["tls"] as? Bool == true)
        }
    }

    @Test(arguments: ["tls", "starttls"])
    func aCertificateForAnotherNameIsRefusedWithAClearReason(mode: String) async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let certificates = try TestCertificates(directory: directory + "/tls")
            let relay = try Relay(
                ["--mode", mode, "--cert", certificates.wrongCert, "--key", certificates.wrongKey], directory: directory
            )
            let settings = SMTPSettings(
                host: "localhost", port: relay.port, security: mode == "tls" ? .tls : .starttls,
                caFile: certificates.ca,
                heloName: "localhost")
            do {
                _ = try SMTPSender(settings: settings).send(
                    from: "v@localhost", to: ["d@example.com"], message: Self.message())
                Issue.record("a certificate for wrong.example was accepted for localhost")
            } catch let error as NotifyError {
                guard case .certificate(let host, let reason) = error else {
                    Issue.record("expected a certificate error, got \(error)")
                    return
                }
                #expect(host == "localhost")
                #expect(error.isPermanent)
                #expect(reason.lowercased().contains("name") || reason.lowercased().contains("localhost"), "\(reason)")
            }
            #expect(relay.messages().isEmpty)
        }
    }

    @Test func aCertificateFromAnUntrustedCAIsRefused() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let certificates = try TestCertificates(directory: directory + "/tls")
            let relay = try Relay(
                ["--mode", "tls", "--cert", certificates.goodCert, "--key", certificates.goodKey], directory: directory)
            // The system store does not know the test CA.
            let settings = SMTPSettings(host: "localhost", port: relay.port, security: .tls, heloName: "localhost")
            #expect {
                try SMTPConnection(settings: settings)
            } throws: { error in
                guard let error = error as? NotifyError, case .certificate = error else { return false }
                return error.isPermanent
            }
        }
    }

    @Test func perRecipientResultsWhenOneRecipientIsRejected() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let relay = try Relay(["--reject", "gone@example.com"], directory: directory)
            let sender = SMTPSender(
                settings: SMTPSettings(host: "127.0.0.1", port: relay.port, security: .none, heloName: "localhost"))
            let outcomes = try sender.send(
                from: "v@localhost", to: ["gone@example.com", "desk@example.com"], message: Self.message())
            #expect(outcomes.count == 2)
            guard case .rejected(let error) = outcomes[0] else {
                Issue.record("gone@example.com was not rejected")
                return
            }
            #expect(error.isPermanent)
            #expect(error.description.contains("550"))
            #expect(outcomes[1] == .accepted)
            #expect(relay.messages().count == 1)
            #expect(relay.messages().first?.envelope["rcpt_tos"] as? [String] == ["desk@example.com"])
        }
    }

    @Test func temporaryAndPermanentDataRepliesAreClassified() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let relay = try Relay(["--fail-first", "1"], directory: directory)
            let sender = SMTPSender(
                settings: SMTPSettings(host: "127.0.0.1", port: relay.port, security: .none, heloName: "localhost"))
            let first = try sender.send(from: "v@localhost", to: ["d@example.com"], message: Self.message())
            guard case .rejected(let error) = first.first else {
                Issue.record("451 was taken as success")
                return
            }
            #expect(!error.isPermanent)
            #expect(error.description.contains("451"))
            #expect(try sender.send(from: "v@localhost", to: ["d@example.com"], message: Self.message()) == [.accepted])
            #expect(relay.clientConnections == 1, "the connection is reused within a burst")

            let refusing = try Relay(["--reject-all"], directory: directory)
            let other = SMTPSender(
                settings: SMTPSettings(host: "127.0.0.1", port: refusing.port, security: .none, heloName: "localhost"))
            guard
                case .rejected(let refused) = try other.send(
                    from: "v@l", to: ["d@example.com"], message: Self.message()
                )
                .first
            else {
                Issue.record("550 was taken as success")
                return
            }
            #expect(refused.isPermanent)
        }
    }

    @Test func aBurstReusesOneConnection() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            let relay = try Relay(directory: directory)
            let sender = SMTPSender(
                settings: SMTPSettings(host: "127.0.0.1", port: relay.port, security: .none, heloName: "localhost"))
            for index in 0..<5 {
                #expect(
                    try sender.send(from: "v@localhost", to: ["d@example.com"], message: Self.message("n\(index)"))
                        == [.accepted])
            }
            #expect(relay.messages().count == 5)
            #expect(sender.connectionsOpened == 1)
            #expect(relay.clientConnections == 1)
        }
    }

    @Test func aRelayThatIsDownIsATransientError() async throws {
        try await onOwnThread {
            // A port nobody listens on: bind and close to find one.
            let sender = SMTPSender(settings: SMTPSettings(host: "127.0.0.1", port: 9, security: .none, heloName: "l"))
            do {
                _ = try sender.send(from: "v@l", to: ["d@example.com"], message: Self.message())
                Issue.record("sent to a closed port")
            } catch let error as NotifyError {
                #expect(!error.isPermanent, "\(error)")
            }
        }
    }

    @Test func garbageFromTheRelayIsAClearError() async throws {
        try await onOwnThread {
            let directory = try temporaryDirectory()
            // A "relay" that greets and then answers EHLO with nonsense.
            let script = """
                import socket,sys
                s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1)
                print(s.getsockname()[1], flush=True)
                c,_=s.accept(); c.sendall(b"220 hi\\r\\n"); c.recv(1000); c.sendall(b"HELLO WORLD\\r\\n"); c.recv(1000)
                """
            try script.write(toFile: directory + "/bad.py", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [directory + "/bad.py"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            defer { process.terminate() }
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8)
            {
                line.append(byte)
            }
            let port = Int(String(decoding: line, as: UTF8.self)) ?? 0
            do {
                _ = try SMTPConnection(
                    settings: SMTPSettings(host: "127.0.0.1", port: port, security: .none, heloName: "l", timeout: 5))
                Issue.record("garbage accepted")
            } catch let error as NotifyError {
                #expect(error.description.contains("not an SMTP reply"), "\(error)")
            }
        }
    }
}
