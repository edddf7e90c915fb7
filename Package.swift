// swift-tools-version:6.0
// Mailvox — a voicemail server that speaks mail. The target graph below is the module map of
// docs/ARCHITECTURE.md: lower modules never import higher ones, and SwiftPM enforces it.
import PackageDescription

let package = Package(
    name: "mailvox",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mailvox", targets: ["mailvox"]),
        // Libraries only so that Fuzz/ and Benchmarks/ (packages of their own, built with
        // sanitizers or in release) can reach the pure modules where fuzzing starts.
        .library(name: "MailvoxAudio", targets: ["MailvoxAudio"]),
        .library(name: "MailvoxMIME", targets: ["MailvoxMIME"]),
        .library(name: "MailvoxTemplates", targets: ["MailvoxTemplates"]),
        .library(name: "MailvoxIMAP", targets: ["MailvoxIMAP"]),
        .library(name: "MailvoxSMTPCore", targets: ["MailvoxSMTPCore"]),
        .library(name: "MailvoxStore", targets: ["MailvoxStore"]),
        .library(name: "MailvoxPipeline", targets: ["MailvoxPipeline"]),
        .library(name: "MailvoxServer", targets: ["MailvoxServer"]),
        .library(name: "MailvoxNotify", targets: ["MailvoxNotify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        // Already in the graph through swift-certificates; named so X.509 SANs can be built.
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        // `[storage] backend = "postgres"` (issue #18): the PostgreSQL wire protocol on NIO.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // Its OTP module only: RFC 6238 TOTP for the web inbox's second factor.
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        // Already in the graph through Hummingbird; named for HTTPField, which it does not re-export.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: C libraries (Debian -dev packages; scripts/bootstrap installs them)
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile"),
        .systemLibrary(name: "CSoxr", path: "Sources/CSoxr"),
        .systemLibrary(name: "CEbur128", path: "Sources/CEbur128"),
        // libetpan's .pc carries linker specs SwiftPM rejects, so no pkgConfig here (docs/PLATFORM.md).
        .systemLibrary(name: "CEtPan", path: "Sources/CEtPan"),
        // zlib's raw DEFLATE for IMAP COMPRESS=DEFLATE (RFC 4978).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // MARK: Foundation of value types
        .target(name: "MailvoxCore"),

        // MARK: Pure functions over bytes and files
        .target(
            name: "MailvoxConfig",
            dependencies: ["MailvoxCore", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(
            name: "MailvoxCrypto",
            dependencies: [
                "MailvoxCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(name: "MailvoxAudio", dependencies: ["MailvoxCore", "CSndFile", "CSoxr", "CEbur128"]),
        .target(name: "MailvoxMIME", dependencies: ["MailvoxCore", "CEtPan"]),
        .target(
            name: "MailvoxTemplates",
            dependencies: ["MailvoxCore", .product(name: "Mustache", package: "swift-mustache")]
        ),

        // MARK: Persistence
        .target(
            name: "MailvoxDatabase",
            dependencies: ["MailvoxCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "MailvoxStore",
            dependencies: [
                "MailvoxCore", "MailvoxCrypto", "MailvoxMIME", "MailvoxDatabase",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MailvoxQueue",
            dependencies: ["MailvoxCore", "MailvoxDatabase", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The SQL seam's PostgreSQL driver: a bounded pool of synchronous connections over postgres-nio.
        .target(
            name: "MailvoxPostgres",
            dependencies: [
                "MailvoxCore", "MailvoxDatabase",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Sealed blobs in S3-compatible object storage (docs/STORAGE.md): SigV4 over AsyncHTTPClient.
        // A module of its own so that only what needs a bucket links an HTTP client, and
        // MailvoxCore keeps only the BlobStore seam and the filesystem store.
        .target(
            name: "MailvoxObjects",
            dependencies: [
                "MailvoxCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Already in the graph through AsyncHTTPClient; request and response bodies are
                // ByteBuffers, and requests are built with NIOHTTP1's method and headers.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // MARK: Services
        .target(
            name: "MailvoxNotify",
            dependencies: [
                "MailvoxCore", "MailvoxTemplates", "CEtPan",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Already in the graph through AsyncHTTPClient; its request and response bodies are ByteBuffers.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MailvoxPipeline",
            dependencies: [
                "MailvoxCore", "MailvoxAudio", "MailvoxMIME", "MailvoxTemplates", "MailvoxCrypto", "MailvoxSMTPCore",
                "MailvoxStore", "MailvoxQueue", "MailvoxNotify",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The web inbox: pages, the JSON API and audio over the HTTP listener (docs/WEB.md).
        .target(
            name: "MailvoxWeb",
            dependencies: [
                "MailvoxCore", "MailvoxCrypto", "MailvoxStore", "MailvoxTemplates", "MailvoxAudio", "MailvoxMIME",
                "MailvoxPipeline",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MailvoxHTTP",
            dependencies: [
                "MailvoxCore", "MailvoxPipeline", "MailvoxStore", "MailvoxTLS", "MailvoxWeb",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The IMAP protocol alone (grammar, parser, encoders): no sockets, no TLS, so Fuzz/ can
        // compile it with sanitizers from NIOCore only.
        .target(
            name: "MailvoxIMAPCore",
            dependencies: ["MailvoxCore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "MailvoxIMAP",
            dependencies: [
                "MailvoxCore", "MailvoxIMAPCore", "MailvoxTLS", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The TLS every listener shares: `[tls]`'s server configuration and the STARTTLS switch.
        .target(
            name: "MailvoxTLS",
            dependencies: [
                "MailvoxCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The SMTP/LMTP protocol alone (commands, addresses, DATA/BDAT framing, replies): pure
        // Swift, so Fuzz/ compiles it with sanitizers and the pipeline shares its reply type.
        .target(name: "MailvoxSMTPCore", dependencies: ["MailvoxCore"]),
        .target(
            name: "MailvoxSMTP",
            dependencies: [
                "MailvoxCore", "MailvoxSMTPCore", "MailvoxTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MailvoxServer",
            dependencies: [
                "MailvoxCore", "MailvoxConfig", "MailvoxCrypto", "MailvoxDatabase", "MailvoxStore", "MailvoxSMTP",
                "MailvoxSMTPCore", "MailvoxPostgres", "MailvoxObjects",
                "MailvoxQueue", "MailvoxPipeline", "MailvoxHTTP", "MailvoxIMAP", "MailvoxNotify", "MailvoxWeb",
                "MailvoxTemplates", "MailvoxAudio", "MailvoxMIME",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "mailvox",
            dependencies: [
                "MailvoxServer", "MailvoxCore", "MailvoxConfig", "MailvoxCrypto", "MailvoxStore", "MailvoxAudio",
                "MailvoxQueue", "MailvoxPipeline", "MailvoxMIME", "MailvoxSMTPCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Test support
        .target(name: "MailvoxStoreTesting", dependencies: ["MailvoxCore", "MailvoxMIME"]),
        // What the tests share: running the built binary and the real tools, free ports.
        // Test peers started once per run (PostgreSQL, SeaweedFS) and the CLI driver; buckets are
        // made through the S3 signer, which the store itself never does.
        .target(
            name: "MailvoxTestSupport",
            dependencies: [
                "MailvoxObjects", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/MailvoxTestSupport"),
        // What IMAP's tests (and Fuzz/, CommandEncoder.swift alone) need and the server does not ship.
        .target(
            name: "MailvoxIMAPTesting",
            dependencies: [
                "MailvoxIMAPCore", "MailvoxIMAP", "MailvoxCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),

        // MARK: Tests
        .testTarget(name: "MailvoxCoreTests", dependencies: ["MailvoxCore"]),
        // SigV4 vectors, and the BlobStore contract against the filesystem and a real S3 (SeaweedFS).
        .testTarget(
            name: "MailvoxObjectsTests",
            dependencies: [
                "MailvoxObjects", "MailvoxCore", "MailvoxTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "MailvoxConfigTests", dependencies: ["MailvoxConfig", "MailvoxCore"]),
        .testTarget(name: "MailvoxCryptoTests", dependencies: ["MailvoxCrypto", "MailvoxCore"]),
        .testTarget(
            name: "MailvoxStoreTests",
            dependencies: [
                "MailvoxStore", "MailvoxDatabase", "MailvoxPostgres", "MailvoxObjects", "MailvoxCrypto", "MailvoxCore",
                "MailvoxTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "MailvoxQueueTests",
            dependencies: [
                "MailvoxQueue", "MailvoxStore", "MailvoxDatabase", "MailvoxPostgres", "MailvoxCrypto", "MailvoxCore",
                "MailvoxTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "MailvoxPostgresTests",
            dependencies: ["MailvoxPostgres", "MailvoxDatabase", "MailvoxCore", "MailvoxTestSupport"]
        ),
        .testTarget(
            name: "MailvoxPipelineTests",
            dependencies: ["MailvoxPipeline", "MailvoxQueue", "MailvoxCore", "MailvoxObjects", "MailvoxTestSupport"]
        ),
        .testTarget(name: "MailvoxAudioTests", dependencies: ["MailvoxAudio", "MailvoxCore", "MailvoxTestSupport"]),
        // Golden files are read through #filePath, not bundled.
        .testTarget(
            name: "MailvoxMIMETests",
            dependencies: [
                "MailvoxMIME", "MailvoxCore", "MailvoxIMAPCore", "MailvoxTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Golden"]),
        .testTarget(name: "MailvoxTemplatesTests", dependencies: ["MailvoxTemplates", "MailvoxCore"]),
        .testTarget(name: "MailvoxWebTests", dependencies: ["MailvoxWeb", "MailvoxCore", "MailvoxTemplates"]),
        .testTarget(
            name: "MailvoxIMAPTests",
            dependencies: [
                "MailvoxIMAP", "MailvoxIMAPCore", "MailvoxIMAPTesting", "MailvoxCore", "MailvoxStoreTesting",
                "MailvoxCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // The client scripts are run by path (#filePath), not bundled.
            exclude: ["Clients"]
        ),
        .testTarget(
            name: "MailvoxCLITests", dependencies: ["MailvoxCore", "MailvoxTestSupport"], exclude: ["Clients"]),
        .testTarget(
            name: "MailvoxSMTPTests",
            dependencies: [
                "MailvoxSMTP", "MailvoxSMTPCore", "MailvoxCore", "MailvoxTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "MailvoxNotifyTests",
            dependencies: [
                "MailvoxNotify", "MailvoxCore", "MailvoxTestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
