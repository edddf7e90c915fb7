import Foundation

/// Finds where sound begins and ends: the signal is cut into 20 ms windows and a window is
/// sound when its RMS level exceeds the threshold. RMS over short windows is the measure
/// sox's `silence` effect uses too; no library offers it on a stream of floats.
struct SilenceTracker {
    let windowFrames: Int
    private let thresholdSquared: Double
    private var windowStart: Int64 = 0
    private var windowFill = 0
    private var sumOfSquares = 0.0
    /// First frame of the first loud window, and the end of the last loud window.
    private(set) var firstLoudFrame: Int64?
    private(set) var loudEndFrame: Int64 = 0
    private(set) var loudWindows = 0

    init(sampleRate: Int, thresholdDBFS: Double) {
        windowFrames = max(1, sampleRate / 50)
        let amplitude = pow10(thresholdDBFS / 20)
        thresholdSquared = amplitude * amplitude
    }

    mutating func add(_ samples: UnsafeBufferPointer<Float>) {
        // A window's worth at a time: the inner loop is only the sum (in the same order, so
        // the same result), without a counter and a test per sample. The intake's probe and
        // the transcode's analysis both run this over every sample.
        var index = 0
        while index < samples.count {
            let end = min(samples.count, index + windowFrames - windowFill)
            var sum = sumOfSquares
            for position in index..<end {
                let sample = Double(samples[position])
                sum += sample * sample
            }
            sumOfSquares = sum
            windowFill += end - index
            index = end
            if windowFill == windowFrames { closeWindow() }
        }
    }

    /// Judges the last, partial window; call once after the final block.
    mutating func finish() {
        if windowFill > 0 { closeWindow() }
    }

    private mutating func closeWindow() {
        if sumOfSquares / Double(windowFill) > thresholdSquared {
            if firstLoudFrame == nil { firstLoudFrame = windowStart }
            loudEndFrame = windowStart + Int64(windowFill)
            loudWindows += 1
        }
        windowStart += Int64(windowFill)
        windowFill = 0
        sumOfSquares = 0
    }
}

func pow10(_ exponent: Double) -> Double { pow(10, exponent) }
