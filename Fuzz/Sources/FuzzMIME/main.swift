import MailvoxMIME

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    _ = MIMELibrary.version
    return 0
}
