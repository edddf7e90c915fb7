import CSoxr

/// A streaming libsoxr resampler for mono float samples (`soxr_t`, freed in `deinit`).
final class Resampler {
    private let handle: soxr_t
    let inputRate: Int
    let outputRate: Int

    init?(from inputRate: Int, to outputRate: Int) {
        var error: soxr_error_t?
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        // High quality (20-bit, the library default): well below the noise of any phone line.
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        guard
            let handle = soxr_create(Double(inputRate), Double(outputRate), 1, &error, &io, &quality, nil),
            error == nil
        else { return nil }
        self.handle = handle
        self.inputRate = inputRate
        self.outputRate = outputRate
    }

    deinit { soxr_delete(handle) }

    /// Feeds `input` (nil once at the end, to drain the filter), handing each stretch of
    /// output to `emit` through `output`, until all input is consumed (or, when draining,
    /// until soxr has nothing more).
    func process(
        _ input: UnsafeBufferPointer<Float>?, output: UnsafeMutableBufferPointer<Float>,
        emit: (UnsafeBufferPointer<Float>) -> Void
    ) {
        guard var remaining = input else {
            while true {
                var consumed = 0
                var produced = 0
                _ = soxr_process(handle, nil, 0, &consumed, output.baseAddress, output.count, &produced)
                if produced == 0 { return }
                emit(UnsafeBufferPointer(rebasing: output[0..<produced]))
            }
        }
        while true {
            var consumed = 0
            var produced = 0
            _ = soxr_process(
                handle, remaining.baseAddress, remaining.count, &consumed, output.baseAddress, output.count, &produced)
            if produced > 0 { emit(UnsafeBufferPointer(rebasing: output[0..<produced])) }
            remaining = UnsafeBufferPointer(rebasing: remaining[consumed...])
            if remaining.isEmpty || (consumed == 0 && produced == 0) { return }
        }
    }
}
