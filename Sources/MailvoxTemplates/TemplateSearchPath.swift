import Foundation
import MailvoxCore

/// The folders templates are looked up in, most specific first (docs/DESIGN.md §4): the
/// `[templates] dir` of the config, the installed `<binary>/../share/mailvox/Templates`, then
/// the `Templates/` of the source checkout this binary was built from.
public struct TemplateSearchPath: Sendable, Equatable {
    public var folders: [String]

    public init(folders: [String]) {
        self.folders = folders
    }

    /// The search order for a running server: config folder (if set), installed, checkout.
    public static func standard(configuredDir: String?, executablePath: String? = Self.executablePath) -> Self {
        var folders: [String] = []
        if let configuredDir, !configuredDir.isEmpty { folders.append(configuredDir) }
        if let executablePath {
            let binDir = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
            folders.append(binDir.appendingPathComponent("../share/mailvox/Templates").standardizedFileURL.path)
        }
        folders.append(checkoutTemplates)
        return Self(folders: folders)
    }

    /// The search order for `config`.
    public static func standard(for config: Configuration) -> Self {
        standard(configuredDir: config.templates.dir)
    }

    /// `Templates/` of the source tree this file was compiled in.
    public static var checkoutTemplates: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Templates").path
    }

    /// This process's executable (`/proc/self/exe` on Linux).
    public static var executablePath: String? { Bundle.main.executablePath }
}
