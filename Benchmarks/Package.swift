// swift-tools-version:6.0
// Benchmark programs, built in release by `make bench`; each prints its figures and a ratio
// against a peer run in the same invocation.
import PackageDescription

let package = Package(
    name: "mailvox-benchmarks",
    dependencies: [
        .package(name: "mailvox", path: ".."),
        // Already in mailvox's graph; named for the IMAP load generator's client side.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Already in mailvox's graph (SMS gateways); the web inbox benchmark's HTTPS client.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "AudioBench", dependencies: [.product(name: "MailvoxAudio", package: "mailvox")]),
        .executableTarget(
            name: "AlertBench", dependencies: [.product(name: "MailvoxNotify", package: "mailvox")]),
        .executableTarget(
            name: "StoreBench", dependencies: [.product(name: "MailvoxStore", package: "mailvox")]),
        .executableTarget(
            name: "BackupBench",
            dependencies: [
                .product(name: "MailvoxServer", package: "mailvox"), .product(name: "MailvoxStore", package: "mailvox"),
            ]),
        .executableTarget(
            name: "PipelineBench",
            dependencies: [
                .product(name: "MailvoxServer", package: "mailvox"), .product(name: "MailvoxPipeline", package: "mailvox"),
            ]),
        .executableTarget(
            name: "IMAPBench",
            dependencies: [
                .product(name: "MailvoxIMAP", package: "mailvox"), .product(name: "MailvoxStore", package: "mailvox"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "WebBench",
            dependencies: [
                .product(name: "MailvoxServer", package: "mailvox"), .product(name: "MailvoxStore", package: "mailvox"),
                .product(name: "MailvoxMIME", package: "mailvox"), .product(name: "MailvoxTemplates", package: "mailvox"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
