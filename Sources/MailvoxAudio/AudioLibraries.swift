import CEbur128
import CSndFile
import CSoxr

/// The versions of the C audio libraries this build links, for `mailvox doctor`.
///
/// Probe, decode and transcode arrive with the Audio issue; the module and its C targets
/// are in place so that the dependency graph is fixed from the start.
public enum AudioLibraries {
    public static var sndfileVersion: String { String(cString: sf_version_string()) }

    public static var soxrVersion: String { String(cString: soxr_version()) }

    public static var ebur128Version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        ebur128_get_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
