import Foundation
import MailvoxCore
import MailvoxObjects
import MailvoxTestSupport
import Testing

@Suite struct S3XMLTests {
    static let listing = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>odd/</Prefix>\
        <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>\
        <Contents><Key>odd/&quot;a&quot; &lt;b&gt; &amp;amp; &#39;c&#x27;</Key><Size>1</Size></Contents>\
        <Contents><Key> </Key></Contents>\
        <NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>
        """

    @Test func readsAListing() throws {
        let page = try S3XML.listPage(Array(Self.listing.utf8))
        #expect(page.keys == ["odd/\"a\" <b> &amp; 'c'", " "])
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "tok+/=")
    }

    @Test func readsAnEmptyListing() throws {
        let page = try S3XML.listPage(
            Array(
                "<ListBucketResult><Name>b</Name><Prefix></Prefix><IsTruncated>false</IsTruncated></ListBucketResult>"
                    .utf8))
        #expect(page == S3XML.ListPage(keys: [], isTruncated: false, nextContinuationToken: nil))
    }

    @Test func readsAnError() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>gone &amp; away</Message></Error>"
        #expect(S3XML.errorCode(Array(body.utf8))?.code == "NoSuchBucket")
        #expect(S3XML.errorCode(Array(body.utf8))?.message == "gone & away")
        #expect(S3XML.errorCode(Array("<html>502</html>".utf8)) == nil)
    }

    @Test(arguments: [
        "",
        "garbage",
        "<ListBucketResult><IsTruncated>false</IsTruncated>",
        String(listing.prefix(200)),
        String(listing.dropLast(30)),
        "<ListBucketResult><Contents><Key>a</Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>x</Key></Contents></ListBucketResult>",
        "<Error><Code>x</Code></Error>",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>",
        "<ListBucketResult><Key>&bogus;</Key><IsTruncated>false</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Key>&#0;</Key><IsTruncated>false</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Key>&#x110000;</Key></ListBucketResult>",
        "<ListBucketResult></ListBucketResult><Second/>",
        "<a " + String(repeating: "\"", count: 3),
        String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
        "<\u{0}>",
        "</ListBucketResult>",
        "<ListBucketResult>",
    ])
    func refusesBrokenListings(_ text: String) {
        #expect(throws: S3XML.Problem.self) { try S3XML.listPage(Array(text.utf8)) }
    }

    /// A server that answers every request with a cut-off listing: the store reports a clear,
    /// temporary error and does not crash.
    @Test func garbledListingFromTheServer() async throws {
        let port = Subprocess.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-fake-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = """
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b'<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a'
                    self.send_response(200)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args):
                    pass
            http.server.HTTPServer(('127.0.0.1', \(port)), H).serve_forever()
            """
        try script.write(to: directory.appendingPathComponent("fake.py"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Subprocess.python)
        process.arguments = [directory.appendingPathComponent("fake.py").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            // SIGKILL: a child spawned from the test process inherits its blocked SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let store = try S3BlobStore(
            settings: S3Settings(
                endpoint: "http://127.0.0.1:\(port)", bucket: "fake-bucket", region: "us-east-1", accessKey: "AK",
                secretKey: "SK", pathStyle: true, timeout: .seconds(5), maxAttempts: 1))
        var outcome: BlobStoreError?
        for _ in 0..<50 {
            do {
                _ = try await store.list(prefix: .all, after: nil, limit: 10)
                Issue.record("a cut-off listing was accepted")
                return
            } catch let error as BlobStoreError {
                outcome = error
                if case .unavailable = error {  // not listening yet
                    try await Task.sleep(for: .milliseconds(100))
                    continue
                }
                break
            }
        }
        let error = try #require(outcome)
        guard case .malformedResponse(let reason) = error else {
            Issue.record("expected malformedResponse, got \(error)")
            return
        }
        #expect(reason.contains("never closed"), "\(reason)")
        #expect(error.isTemporary)
    }
}
