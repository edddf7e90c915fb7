// swift-tools-version:6.0
// libFuzzer targets (`make fuzz`). The modules under test are compiled here from the main
// package's sources (Linked/ holds symlinks) rather than taken as a dependency: SwiftPM applies
// `--sanitize` only to a package's own targets, and a fuzzer without coverage of the parser
// is blind.
import PackageDescription

let package = Package(
    name: "mailvox-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .target(name: "MailvoxCore", path: "Linked/MailvoxCore"),
        .systemLibrary(name: "CEtPan", path: "Linked/CEtPan"),
        .systemLibrary(name: "CSndFile", path: "Linked/CSndFile"),
        .systemLibrary(name: "CSoxr", path: "Linked/CSoxr"),
        .systemLibrary(name: "CEbur128", path: "Linked/CEbur128"),
        .target(name: "MailvoxMIME", dependencies: ["MailvoxCore", "CEtPan"], path: "Linked/MailvoxMIME"),
        .target(
            name: "MailvoxAudio", dependencies: ["MailvoxCore", "CSndFile", "CSoxr", "CEbur128"],
            path: "Linked/MailvoxAudio"),
        // The protocol half of IMAP only; the server half (sockets, TLS) is not a parser.
        .target(
            name: "MailvoxIMAPCore",
            dependencies: ["MailvoxCore", .product(name: "NIOCore", package: "swift-nio")],
            path: "Linked/MailvoxIMAPCore"),
        // The command encoder only (for the round trip); the rest of it waits on the server half.
        .target(
            name: "MailvoxIMAPTesting", dependencies: ["MailvoxCore", "MailvoxIMAPCore"],
            path: "Linked/MailvoxIMAPTesting", sources: ["CommandEncoder.swift"]),
        // The sealing code only: the dev certificate and password hashing are not parsers.
        .target(
            name: "MailvoxCrypto",
            dependencies: [
                "MailvoxCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Linked/MailvoxCrypto", exclude: ["DevCertificate.swift"]),
        .target(name: "MailvoxSidecar", dependencies: ["MailvoxCore"], path: "Linked/MailvoxSidecar"),
        // The SMTP protocol half only (framing, commands, addresses); the server half is NIO.
        .target(name: "MailvoxSMTPCore", dependencies: ["MailvoxCore"], path: "Linked/MailvoxSMTPCore"),
        // The S3 answer reader only (ListObjectsV2 pages, error bodies); signing and HTTP are not parsers.
        .target(name: "MailvoxObjects", path: "Linked/MailvoxObjects", sources: ["S3/S3XML.swift"]),
        .executableTarget(name: "FuzzAudio", dependencies: ["MailvoxAudio"]),
        .executableTarget(name: "FuzzMIME", dependencies: ["MailvoxMIME"]),
        .executableTarget(name: "FuzzIMAP", dependencies: ["MailvoxIMAPCore", "MailvoxIMAPTesting"]),
        .executableTarget(name: "FuzzIntake", dependencies: ["MailvoxCore", "MailvoxSidecar"]),
        .executableTarget(name: "FuzzSMTP", dependencies: ["MailvoxSMTPCore"]),
        .executableTarget(name: "FuzzS3XML", dependencies: ["MailvoxObjects"]),
        // The web inbox's request readers in MailvoxCore: the Range header and form bodies.
        .executableTarget(name: "FuzzWebRequest", dependencies: ["MailvoxCore"]),
        .executableTarget(
            name: "FuzzSealed", dependencies: ["MailvoxCrypto", .product(name: "Crypto", package: "swift-crypto")]),
    ],
    swiftLanguageModes: [.v6]
)
