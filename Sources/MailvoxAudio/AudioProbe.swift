import Foundation

/// Says what a recording is and how long it truly lasts, or exactly why it is unusable.
public enum AudioProbe {
    /// Decodes the whole file (in fixed-size blocks) to count its frames, so a header that
    /// lies about the length does not fool the duration.
    ///
    /// - Parameters:
    ///   - path: the recording.
    ///   - format: the raw format of a headerless file; nil to go by header, then extension.
    /// - Throws: `AudioError` — empty, truncated, not audio, unsupported codec or silence only.
    public static func probe(path: String, format: RawFormat? = nil) throws(AudioError) -> AudioInfo {
        let input = try AudioInput.open(path: path, format: format)
        let analysis = try Analysis.run(input: input, path: path, silenceThresholdDBFS: Analysis.defaultThresholdDBFS)
        if analysis.loudWindows == 0 { throw AudioError(.silence, file: path) }
        return analysis.info
    }

    /// Measures integrated loudness (EBU R128, libebur128) and sample peak of the mono mixdown.
    public static func loudness(path: String, format: RawFormat? = nil) throws(AudioError) -> LoudnessMeasurement {
        let input = try AudioInput.open(path: path, format: format)
        let analysis = try Analysis.run(
            input: input, path: path, silenceThresholdDBFS: Analysis.defaultThresholdDBFS, measureLoudness: true)
        let peak = analysis.samplePeak ?? 0
        return LoudnessMeasurement(
            integratedLUFS: analysis.loudness ?? -.infinity, samplePeakDBFS: peak > 0 ? 20 * log10(peak) : -.infinity)
    }
}

/// A recording's loudness: integrated (EBU R128, LUFS; -infinity when all of it is below the
/// -70 LUFS gate) and sample peak (dBFS).
public struct LoudnessMeasurement: Sendable, Equatable {
    public var integratedLUFS: Double
    public var samplePeakDBFS: Double
}
