import Foundation
import Testing

@testable import MailvoxPipeline

/// Scratch space is per instance (data dir) and per process, mode 700, and cleaning removes
/// only the folders of processes that are gone: a plaintext recording left by a kill must not
/// outlive its process, and a concurrent `mailvox deposit`'s file must never be deleted.
@Suite(.serialized) struct ScratchTests {
    static func queueDir() throws -> String {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-scratch-\(UUID())").path
        try FileManager.default.createDirectory(atPath: data + "/queue", withIntermediateDirectories: true)
        return data + "/queue"
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func eachInstanceHasItsOwnPrivateBaseAndEachProcessItsOwnFolder() throws {
        let first = try Self.queueDir()
        let second = try Self.queueDir()
        let base = try Scratch.base(queueDir: first)
        let other = try Scratch.base(queueDir: second)
        defer { for folder in [base, other] { try? FileManager.default.removeItem(atPath: folder) } }
        #expect(base != other)
        #expect(base != "/dev/shm/mailvox-\(getuid())", "the folder shared by every instance of the uid")
        if access("/dev/shm", W_OK) == 0 {
            #expect(base.hasPrefix("/dev/shm/mailvox-\(getuid())-"))
        }
        #expect(Self.mode(base) == 0o700)
        let scratch = try Scratch(queueDir: first)
        #expect((scratch.directory as NSString).deletingLastPathComponent == base)
        #expect((scratch.directory as NSString).lastPathComponent.hasPrefix("\(getpid())-"))
        #expect(Self.mode(scratch.directory) == 0o700)
        #expect(try Scratch(queueDir: first).directory == scratch.directory, "one folder per process")
    }

    @Test func aBaseMadeByAnotherOwnerOrLooserModeIsNotTrustedAsIs() throws {
        let queue = try Self.queueDir()
        let loose = (queue as NSString).deletingLastPathComponent + "/loose"
        #expect(mkdir(loose, 0o755) == 0)
        try Scratch.ensurePrivateDirectory(loose)
        #expect(Self.mode(loose) == 0o700)
        let link = (queue as NSString).deletingLastPathComponent + "/link"
        #expect(symlink(loose, link) == 0)
        #expect(throws: PipelineError.self) { try Scratch.ensurePrivateDirectory(link) }
    }

    @Test func cleaningRemovesOnlyFoldersOfProcessesThatAreGone() throws {
        let queue = try Self.queueDir()
        let base = try Scratch.base(queueDir: queue)
        // The test's own folders go with it; a server's stay until the process is gone.
        defer { try? FileManager.default.removeItem(atPath: base) }

        // This process's own folder, in use (made first: making it cleans as well).
        let own = try Scratch(queueDir: queue)
        #expect(FileManager.default.createFile(atPath: own.path("intake-3.wav"), contents: Data("RIFF".utf8)))

        // A deposit killed during intake: its folder and plaintext are left, nobody holds the lock.
        let dead = base + "/999999-dead"
        #expect(mkdir(dead, 0o700) == 0)
        #expect(FileManager.default.createFile(atPath: dead + "/intake-1.wav", contents: Data("RIFF".utf8)))
        #expect(FileManager.default.createFile(atPath: base + "/loose.wav", contents: Data("RIFF".utf8)))

        // A concurrent `mailvox deposit` in another process: it holds its folder's lock.
        let live = base + "/424242-live"
        #expect(mkdir(live, 0o700) == 0)
        #expect(FileManager.default.createFile(atPath: live + "/intake-2.wav", contents: Data("RIFF".utf8)))
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = [
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); "
                + "print('locked', flush=True); sys.stdin.read()",
            live,
        ]
        let input = Pipe()
        let output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        let ready = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        #expect(ready.hasPrefix("locked"))

        // Other tests' dead folders may go too: counts are at least ours.
        #expect(Scratch.removeAbandoned(queueDir: queue) >= 2)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(!FileManager.default.fileExists(atPath: base + "/loose.wav"))
        #expect(FileManager.default.fileExists(atPath: live + "/intake-2.wav"), "a live process's file was deleted")
        #expect(FileManager.default.fileExists(atPath: own.path("intake-3.wav")), "our own file was deleted")

        // Another instance's base holding only a dead process's folder is swept whole.
        if base.hasPrefix("/dev/shm/") {
            let otherBase = try Scratch.base(queueDir: try Self.queueDir())
            #expect(mkdir(otherBase + "/999998-dead", 0o700) == 0)
            #expect(Scratch.removeAbandoned(queueDir: queue) >= 1)
            #expect(!FileManager.default.fileExists(atPath: otherBase))
        }

        // Once the other process is gone, its folder goes at the next cleaning — this one's, or
        // that of a test running beside it, which may come first (the suite saw 0 removed here).
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        _ = Scratch.removeAbandoned(queueDir: queue)
        #expect(!FileManager.default.fileExists(atPath: live))
        #expect(FileManager.default.fileExists(atPath: own.path("intake-3.wav")))
    }
}
