import CEbur128

/// An EBU R128 loudness meter for mono float samples (`ebur128_state*`, freed in `deinit`).
final class LoudnessMeter {
    private var state: UnsafeMutablePointer<ebur128_state>?

    init?(sampleRate: Int) {
        let mode = Int32(EBUR128_MODE_I.rawValue | EBUR128_MODE_SAMPLE_PEAK.rawValue)
        guard let state = ebur128_init(1, UInt(sampleRate), mode) else { return nil }
        self.state = state
    }

    deinit { ebur128_destroy(&state) }

    func add(_ samples: UnsafeBufferPointer<Float>) {
        guard samples.count > 0 else { return }
        _ = ebur128_add_frames_float(state, samples.baseAddress, samples.count)
    }

    /// Integrated loudness in LUFS; -infinity when every block is below the absolute gate.
    var integratedLoudness: Double {
        var value = -Double.infinity
        guard ebur128_loudness_global(state, &value) == 0 else { return -.infinity }
        return value
    }

    /// The highest absolute sample value seen (1.0 = full scale).
    var samplePeak: Double {
        var value = 0.0
        guard ebur128_sample_peak(state, 0, &value) == 0 else { return 0 }
        return value
    }
}
