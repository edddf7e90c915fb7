import CEtPan

/// The version of libetpan this build links, for `mailvox doctor`.
///
/// Composing and parsing voice messages arrive with the MIME issue.
public enum MIMELibrary {
    public static var version: String { "\(libetpan_get_version_major()).\(libetpan_get_version_minor())" }
}
