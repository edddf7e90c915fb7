import Foundation
import MailvoxTestSupport

/// mbsync (isync) as the tests run it: a home of its own with the config made from
/// `MailvoxIMAPTests/Clients/mbsyncrc.template` and the local Maildir in `home/Mail`.
struct MBSync {
    let home: String
    var maildir: String { home + "/Mail" }

    init(home: String) throws {
        self.home = home
        try FileManager.default.createDirectory(atPath: home + "/Mail", withIntermediateDirectories: true)
    }

    /// Points the config at a server; the local Maildir and its sync state stay, so a second
    /// server of the same mailboxes is synced against what the first one gave.
    func configure(port: Int, user: String, password: String, certificate: String) throws {
        let template = IMAPServeTests.clients.appendingPathComponent("mbsyncrc.template")
        try String(contentsOf: template, encoding: .utf8)
            .replacingOccurrences(of: "@PORT@", with: "\(port)")
            .replacingOccurrences(of: "@USER@", with: user)
            .replacingOccurrences(of: "@PASS@", with: password)
            .replacingOccurrences(of: "@CERT@", with: certificate)
            .replacingOccurrences(of: "@MAILDIR@", with: maildir)
            .write(toFile: home + "/mbsyncrc", atomically: true, encoding: .utf8)
    }

    /// `mbsync -a`: every channel, both ways.
    func sync() throws -> ProcessResult {
        try Subprocess.run(
            "/usr/bin/mbsync", ["-c", home + "/mbsyncrc", "-a"], in: home,
            environment: ["HOME": home, "PATH": "/usr/bin:/bin"])
    }

    /// The messages of a local folder, as `cur/NAME` and `new/NAME`.
    func files(_ folder: String) throws -> [String] {
        try ["cur", "new"].flatMap { sub in
            try FileManager.default.contentsOfDirectory(atPath: maildir + "/" + folder + "/" + sub).map {
                "\(sub)/\($0)"
            }
        }
    }
}
