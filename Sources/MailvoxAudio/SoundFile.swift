import CSndFile

/// One open libsndfile handle (`SNDFILE*`), freed in `deinit`; nothing of it leaves the module.
final class SoundFile {
    private var handle: OpaquePointer?
    let info: SF_INFO
    let path: String

    /// Why `sf_open` refused a file, in libsndfile's words and with its error number.
    struct OpenFailure: Error {
        var number: Int32
        var message: String
    }

    private init(handle: OpaquePointer, info: SF_INFO, path: String) {
        self.handle = handle
        self.info = info
        self.path = path
    }

    deinit { close() }

    /// Closes the file (an encoder flushes and, for MP3, writes the LAME/Xing header here);
    /// returns libsndfile's result, 0 on success. Later calls do nothing.
    @discardableResult
    func close() -> Int32 {
        guard let open = handle else { return 0 }
        handle = nil
        return sf_close(open)
    }

    /// Opens for reading; `raw` describes a headerless file, else libsndfile reads the header.
    static func openForReading(path: String, raw: RawFormat?) -> Result<SoundFile, OpenFailure> {
        guard let raw else { return openForReading(path: path, info: SF_INFO()) }
        var info = SF_INFO()
        info.samplerate = raw.sampleRate
        info.channels = 1
        info.format = raw.sndfileFormat
        return openForReading(path: path, info: info)
    }

    /// Opens with a caller-filled `SF_INFO` (raw formats), audio starting at `rawOffset`.
    static func openForReading(path: String, info: SF_INFO, rawOffset: Int64 = 0) -> Result<SoundFile, OpenFailure> {
        var info = info
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            return .failure(OpenFailure(number: sf_error(nil), message: String(cString: sf_strerror(nil))))
        }
        if rawOffset > 0 {
            var offset = sf_count_t(rawOffset)
            sf_command(handle, Int32(SFC_SET_RAW_START_OFFSET), &offset, Int32(MemoryLayout<sf_count_t>.size))
            // libsndfile 1.2 records the offset but its own seek to frame 0 is a no-op while
            // already at frame 0, so reading would still start at byte 0: move away and back.
            sf_seek(handle, 1, SEEK_SET)
            sf_seek(handle, 0, SEEK_SET)
        }
        return .success(SoundFile(handle: handle, info: info, path: path))
    }

    /// Creates (or replaces) a mono 16-bit-or-compressed file of `format` at `sampleRate`.
    static func openForWriting(
        path: String, format: Int32, sampleRate: Int, channels: Int = 1
    ) -> Result<
        SoundFile, OpenFailure
    > {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            return .failure(OpenFailure(number: sf_error(nil), message: String(cString: sf_strerror(nil))))
        }
        return .success(SoundFile(handle: handle, info: info, path: path))
    }

    var sampleRate: Int { Int(info.samplerate) }
    var channels: Int { Int(info.channels) }
    var declaredFrames: Int64 { info.frames }
    var majorFormat: Int32 { info.format & Int32(SF_FORMAT_TYPEMASK) }
    var subtype: Int32 { info.format & Int32(SF_FORMAT_SUBMASK) }

    /// Reads up to `frames` interleaved frames into `buffer` (which holds frames × channels).
    func readFrames(into buffer: UnsafeMutableBufferPointer<Float>, frames: Int) -> Int {
        Int(sf_readf_float(handle, buffer.baseAddress, sf_count_t(frames)))
    }

    /// Writes `frames` interleaved frames; returns how many libsndfile took.
    func writeFrames(_ buffer: UnsafeBufferPointer<Float>, frames: Int) -> Int {
        Int(sf_writef_float(handle, buffer.baseAddress, sf_count_t(frames)))
    }

    /// libsndfile's error on this handle (0: none) and its text.
    var errorNumber: Int32 { sf_error(handle) }
    var errorMessage: String { String(cString: sf_strerror(handle)) }

    /// Sets a `double` command (`SFC_SET_COMPRESSION_LEVEL`); libsndfile checks the exact size.
    @discardableResult
    func command(_ command: Int32, double value: Double) -> Bool {
        var value = value
        return sf_command(handle, command, &value, Int32(MemoryLayout<Double>.size)) == SF_TRUE
    }

    /// Sets an `int` command (`SFC_SET_BITRATE_MODE`).
    @discardableResult
    func command(_ command: Int32, int value: Int32) -> Bool {
        var value = value
        return sf_command(handle, command, &value, Int32(MemoryLayout<Int32>.size)) == SF_TRUE
    }

    /// Turns clipping on for float-to-integer writes, so a sample over full scale saturates
    /// instead of wrapping around to the opposite sign.
    func enableClipping() {
        sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
    }
}
