import Foundation
import Testing

@testable import MailvoxTemplates

@Suite struct TemplatesTests {
    static let callTime = Date(timeIntervalSince1970: 1_704_461_527)  // 2024-01-05 14:32:07 in Berlin

    func context(
        name: String? = "Jürgen <Groß> & Co", number: String? = "+4930123456", language: String? = nil,
        urgent: Bool = false, transcript: String? = nil
    ) -> TemplateContext {
        TemplateContext(
            callerName: name, callerNumber: number, mailboxID: "1000", mailboxName: "Anna Müller",
            receivedAt: Self.callTime, timeZone: TimeZone(identifier: "Europe/Berlin")!, language: language,
            duration: 75.2, urgent: urgent, transcript: transcript, serverName: "vm.example.net", depositID: "d-1")
    }

    func builtIn() throws -> VoicemailTemplates {
        try VoicemailTemplates(searchPath: TemplateSearchPath(folders: [TemplateSearchPath.checkoutTemplates]))
    }

    func temporaryFolder(_ files: [String: String]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-tpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return folder.path
    }

    @Test func plainTextIsNotEscapedAndHTMLIs() throws {
        let templates = try builtIn()
        let text = templates.render(.text, context())
        #expect(text.contains("From:     Jürgen <Groß> & Co\n"))
        #expect(text.contains("Number:   +49 3012 3456\n"))
        #expect(text.contains("Length:   1:15\n"))
        #expect(text.contains("Mailvox on vm.example.net"))
        let html = templates.render(.html, context())
        #expect(html.contains("Jürgen &lt;Groß&gt; &amp; Co"))
        #expect(!html.contains("<Groß>"))
        #expect(html.contains("<a href=\"tel:+4930123456\">+49 3012 3456</a>"))
    }

    @Test func subjectIsOneLineAndSaysUrgent() throws {
        let mail = try builtIn().renderVoicemail(context(urgent: true))
        #expect(mail.subject == "Urgent: Voicemail from Jürgen <Groß> & Co (+49 3012 3456) (1:15)")
        let withheld = try builtIn().renderVoicemail(context(name: nil, number: "anonymous"))
        #expect(withheld.subject == "Voicemail from an unknown caller (1:15)")
        #expect(withheld.text.contains("Number:   withheld"))
    }

    @Test func transcriptAppearsOnlyWhenPresent() throws {
        let templates = try builtIn()
        #expect(!templates.render(.text, context()).contains("Transcript"))
        #expect(templates.render(.text, context(transcript: "Call me back")).contains("Transcript:\nCall me back\n"))
    }

    @Test func languageVariantsFallBackFileByFile() throws {
        let templates = try builtIn()
        #expect(templates.render(.text, context(language: "de-CH")).contains("Sie haben eine neue Sprachnachricht"))
        #expect(templates.render(.text, context(language: "de")).contains("Länge:    1:15"))
        #expect(templates.render(.text, context(language: "fr")).contains("You have a new voicemail"))
        #expect(templates.path(of: .text, language: "de-CH").hasSuffix("/voicemail.de.txt.mustache"))
        // The German received time is formatted in German.
        #expect(templates.render(.text, context(language: "de")).contains("Januar"))
    }

    @Test func configuredFolderOverridesFileByFile() throws {
        let folder = try temporaryFolder([
            "voicemail.subject.mustache": "VM {{caller_number_e164}} {{duration_seconds}}s"
        ])
        let templates = try VoicemailTemplates(
            searchPath: TemplateSearchPath(folders: [folder, TemplateSearchPath.checkoutTemplates]))
        #expect(templates.renderVoicemail(context()).subject == "VM +4930123456 75s")
        #expect(
            templates.path(of: .text, language: nil) == TemplateSearchPath.checkoutTemplates + "/voicemail.txt.mustache"
        )
    }

    @Test func brokenTemplateNamesTheFile() throws {
        let folder = try temporaryFolder(["voicemail.de.txt.mustache": "Hallo\n{{#urgent}}never closed\n"])
        #expect {
            try VoicemailTemplates(
                searchPath: TemplateSearchPath(folders: [folder, TemplateSearchPath.checkoutTemplates]))
        } throws: { error in
            guard case .broken(let file, _, _, _) = error as? TemplateError else { return false }
            return file == folder + "/voicemail.de.txt.mustache" && "\(error)".contains(file)
        }
    }

    @Test func missingTemplateIsAnError() throws {
        let folder = try temporaryFolder(["voicemail.txt.mustache": "x"])
        #expect(throws: TemplateError.missing(name: "voicemail.subject.mustache", searched: [folder])) {
            try VoicemailTemplates(searchPath: TemplateSearchPath(folders: [folder]))
        }
    }

    @Test func searchOrderIsConfigInstalledCheckout() {
        let path = TemplateSearchPath.standard(configuredDir: "/etc/mailvox/tpl", executablePath: "/opt/mv/bin/mailvox")
        #expect(
            path.folders == [
                "/etc/mailvox/tpl", "/opt/mv/share/mailvox/Templates", TemplateSearchPath.checkoutTemplates,
            ])
        #expect(TemplateSearchPath.standard(configuredDir: nil, executablePath: nil).folders.count == 1)
        #expect(
            FileManager.default.fileExists(atPath: TemplateSearchPath.checkoutTemplates + "/voicemail.txt.mustache"))
    }

    @Test func readableNumbers() {
        #expect(TemplateContext.readable("+4930123456") == "+49 3012 3456")
        #expect(TemplateContext.readable("+14155550123") == "+1 415 555 0123")
        #expect(TemplateContext.readable("+35312345678") == "+353 1234 5678")
        #expect(TemplateContext.readable("030123456") == "030123456")
        #expect(TemplateContext.readable("201") == "201")
    }

    @Test func fileNamesMapToKinds() {
        #expect(VoicemailTemplates.kind(ofFile: "voicemail.de-CH.html.mustache") == .html)
        #expect(VoicemailTemplates.kind(ofFile: "sms.de.mustache") == .sms)
        #expect(VoicemailTemplates.kind(ofFile: "voicemail.txt.mustache") == .text)
        #expect(VoicemailTemplates.kind(ofFile: "README.md") == nil)
        #expect(VoicemailTemplates.kind(ofFile: "other.txt.mustache") == nil)
        #expect(VoicemailTemplates.languageCandidates("de_CH") == ["de-CH", "de"])
    }

    @Test func smsIsShortAndUnescaped() throws {
        let sms = try builtIn().render(.sms, context(urgent: true))
        #expect(sms.hasPrefix("URGENT Voicemail (1:15) from Jürgen <Groß> & Co +49 3012 3456 at "))
    }
}
