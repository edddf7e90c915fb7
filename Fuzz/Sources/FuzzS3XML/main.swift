import MailvoxObjects

/// libFuzzer entry for the S3 answers `S3BlobStore` reads (`S3XML`): any bytes as a
/// ListObjectsV2 page and as an `<Error>` body. Refusals (`S3XML.Problem`) are expected; a crash,
/// a hang or a page that breaks its own invariant is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzS3XML(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let page = try? S3XML.listPage(bytes) {
        // A truncated page always says where to go on.
        precondition(!page.isTruncated || !(page.nextContinuationToken ?? "").isEmpty)
    }
    _ = S3XML.errorCode(bytes)
    return 0
}
