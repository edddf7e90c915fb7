import MailvoxAudio

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    _ = AudioLibraries.sndfileVersion
    return 0
}
