import Foundation
import MailvoxCore
import MailvoxObjects
import MailvoxTestSupport
import Testing

@testable import MailvoxPipeline

/// `QueueFiles.remembering()`: a deposit written through it is read back without the bucket,
/// until it is removed or pushed out; nothing else is remembered.
@Suite struct QueueFilesTests {
    @Test func aDepositWrittenHereIsReadBackWithoutTheBucket() throws {
        let bucket = BlockingBlobs(try S3BlobStore(settings: try TestBuckets.freshNow()))
        let files = QueueFiles(queueDir: "/nonexistent", bucket: bucket).remembering(capacity: 10)
        let deposit = QueueFiles.deposit("d-1")
        try files.write(deposit, Data("sealed".utf8))
        try files.write(QueueFiles.alertCopy("d-1"), Data("alert".utf8))
        // Gone from the bucket behind its back: the remembered bytes still answer, the alert
        // copy (not remembered) does not, and a plain QueueFiles reads the bucket.
        try bucket.delete(try BlobKey("queue/" + deposit))
        try bucket.delete(try BlobKey("queue/" + QueueFiles.alertCopy("d-1")))
        #expect(try files.read(deposit) == Data("sealed".utf8))
        #expect(try files.read(QueueFiles.alertCopy("d-1")) == nil)
        #expect(try QueueFiles(queueDir: "/nonexistent", bucket: bucket).read(deposit) == nil)
        try files.remove(deposit)
        #expect(try files.read(deposit) == nil)

        // Past the capacity the oldest go first; one larger than all of it is not kept at all.
        for index in 0..<3 { try files.write(QueueFiles.deposit("e-\(index)"), Data("1234".utf8)) }
        #expect(files.recent?.get(QueueFiles.deposit("e-0")) == nil)
        #expect(files.recent?.get(QueueFiles.deposit("e-2")) != nil)
        #expect(files.recent?.count == 2)
        try files.write(QueueFiles.deposit("big"), Data(count: 11))
        #expect(files.recent?.get(QueueFiles.deposit("big")) == nil)
        #expect(try files.read(QueueFiles.deposit("big"))?.count == 11, "read from the bucket")
    }

    @Test func filesOfTheDataDirAreNeverRemembered() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-qf-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = QueueFiles(queueDir: dir).remembering()
        #expect(files.recent == nil)
        try files.write(QueueFiles.deposit("d"), Data("x".utf8))
        #expect(try files.read(QueueFiles.deposit("d")) == Data("x".utf8))
    }
}
